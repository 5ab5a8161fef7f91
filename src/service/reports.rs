//! Reports derived from the ledger only.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};

use crate::domain::ids::OperatorId;
use crate::domain::recurrence::parse_date;
use crate::error::{AppError, Problems};
use crate::storage::{dashboard, ledger, reseller_receivables, Store};

/// Totals of one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub currency: String,
    /// What the bookings paid for were priced at, before promo codes: payments + discounts.
    pub gross: i64,
    /// What promo codes took off the bookings paid for.
    pub discounts: i64,
    pub payments: i64,
    pub refunds: i64,
    pub fees: i64,
    pub net: i64,
    pub entries: i64,
}

/// Longest report window, in days.
pub const MAX_REPORT_DAYS: i64 = 366;

/// The UTC dates `from..=to` a report covers (default: the last 30 days up to today), each bad
/// date named.
pub fn window(
    now: DateTime<Utc>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(NaiveDate, NaiveDate), AppError> {
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
    Ok((from, to))
}

/// The instants `[start, end)` of the UTC dates `from..=to`.
fn instants(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        from.and_time(NaiveTime::MIN).and_utc(),
        (to + Duration::days(1)).and_time(NaiveTime::MIN).and_utc(),
    )
}

/// Revenue over the UTC dates `from..=to` (default: the last 30 days up to today).
pub async fn revenue(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(NaiveDate, NaiveDate, Vec<CurrencyTotals>), AppError> {
    let (from, to) = window(now, from, to)?;
    let (start, end) = instants(from, to);
    let mut totals: Vec<CurrencyTotals> = Vec::new();
    for (currency, kind, sum, count, discounts) in
        ledger::totals(store, operator, start, end).await?
    {
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
            "payment" => {
                entry.payments += sum;
                entry.gross += sum + discounts;
            }
            "refund" => entry.refunds += sum,
            _ => entry.fees += sum,
        }
        entry.discounts += discounts;
        entry.net += sum;
        entry.entries += count;
    }
    Ok((from, to, totals))
}

/// One sales channel's part of a report, in one currency: `direct` (what travelers paid, less
/// refunds, from the ledger) or one reseller (what it sold on account: the retail price, its
/// commission, and what it owes the operator, `net`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelTotals {
    pub reseller: Option<(String, String)>,
    pub currency: String,
    pub gross: i64,
    pub commission: i64,
    pub net: i64,
}

/// Revenue by channel over the UTC dates `from..=to` whose ledger totals are `totals` (from
/// [`revenue`]): direct sales first, then each reseller by name.
pub async fn channels(
    store: &Store,
    operator: &OperatorId,
    (from, to): (NaiveDate, NaiveDate),
    totals: &[CurrencyTotals],
) -> Result<Vec<ChannelTotals>, AppError> {
    let (start, end) = instants(from, to);
    let mut out: Vec<ChannelTotals> = totals
        .iter()
        .map(|t| ChannelTotals {
            reseller: None,
            gross: t.payments + t.refunds,
            commission: 0,
            net: t.payments + t.refunds,
            currency: t.currency.clone(),
        })
        .collect();
    for (id, name, currency, gross, commission, _) in
        reseller_receivables::by_reseller(store, operator, start, end).await?
    {
        out.push(ChannelTotals {
            reseller: Some((id, name)),
            currency,
            gross,
            commission,
            net: gross - commission,
        });
    }
    Ok(out)
}

/// Payments, refunds and net of one currency on one day or for one tour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    pub currency: String,
    pub payments: i64,
    /// Negative: money back.
    pub refunds: i64,
    pub net: i64,
}

impl Sums {
    fn add(&mut self, kind: &str, amount: i64) {
        match kind {
            "payment" => self.payments += amount,
            "refund" => self.refunds += amount,
            _ => {}
        }
        self.net += amount;
    }
}

/// Folds `(key, currency, kind, sum)` rows, sorted by key and currency, into one `Sums` per key
/// and currency.
fn fold(rows: Vec<(String, String, String, i64)>) -> Vec<(String, Sums)> {
    let mut out: Vec<(String, Sums)> = Vec::new();
    for (key, currency, kind, amount) in rows {
        match out.last_mut() {
            Some((k, sums)) if *k == key && sums.currency == currency => sums.add(&kind, amount),
            _ => {
                let mut sums = Sums {
                    currency,
                    ..Sums::default()
                };
                sums.add(&kind, amount);
                out.push((key, sums));
            }
        }
    }
    out
}

/// A tour's part of a report.
#[derive(Debug, Clone)]
pub struct TourReport {
    pub tour_id: String,
    pub name: String,
    /// Money taken for its bookings in the window, per currency.
    pub sums: Vec<Sums>,
    /// Its scheduled departures starting in the window, their seats and the seats sold.
    pub departures: u32,
    pub capacity: u64,
    pub sold: u64,
}

impl TourReport {
    /// Seats sold of seats offered, in whole percent (none offered: 0).
    pub fn load_percent(&self) -> u64 {
        (self.sold * 100).checked_div(self.capacity).unwrap_or(0)
    }
}

/// The console's report: the window's totals, money per UTC day (every day of the window, the
/// quiet ones as zero) and per tour, and each tour's load factor over departures in the window.
#[derive(Debug, Clone)]
pub struct Breakdown {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: Vec<CurrencyTotals>,
    /// Per day, in date order; within a day, one entry per currency that moved (or the first
    /// currency's zero on a day without movement).
    pub days: Vec<(NaiveDate, Vec<Sums>)>,
    pub tours: Vec<TourReport>,
    /// Direct sales, then each reseller's.
    pub channels: Vec<ChannelTotals>,
}

pub async fn breakdown(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Breakdown, AppError> {
    let (from, to, totals) = revenue(store, now, operator, from, to).await?;
    let (start, end) = instants(from, to);
    let by_day = fold(ledger::by_day(store, operator, start, end).await?);
    let main_currency = totals
        .first()
        .map(|t| t.currency.clone())
        .unwrap_or_default();
    let mut days = Vec::new();
    let mut date = from;
    while date <= to {
        let key = date.format("%Y-%m-%d").to_string();
        let mut sums: Vec<Sums> = by_day
            .iter()
            .filter(|(day, _)| *day == key)
            .map(|(_, sums)| sums.clone())
            .collect();
        if sums.is_empty() {
            sums.push(Sums {
                currency: main_currency.clone(),
                ..Sums::default()
            });
        }
        days.push((date, sums));
        date += Duration::days(1);
    }
    let money = fold(ledger::by_tour(store, operator, start, end).await?);
    let loads = dashboard::tour_loads(store, operator, start, end).await?;
    let mut tours: Vec<TourReport> = super::catalogue::list_tours(store, operator)
        .await?
        .into_iter()
        .map(|tour| {
            let id = tour.id.to_string();
            let load = loads.iter().find(|l| l.tour_id.as_str() == id);
            TourReport {
                sums: money
                    .iter()
                    .filter(|(t, _)| *t == id)
                    .map(|(_, sums)| sums.clone())
                    .collect(),
                departures: load.map_or(0, |l| l.departures),
                capacity: load.map_or(0, |l| l.capacity),
                sold: load.map_or(0, |l| l.sold),
                name: tour.tour.name,
                tour_id: id,
            }
        })
        .filter(|t| !t.sums.is_empty() || t.departures > 0)
        .collect();
    tours.sort_by(|a, b| a.name.cmp(&b.name));
    let channels = channels(store, operator, (from, to), &totals).await?;
    Ok(Breakdown {
        from,
        to,
        totals,
        days,
        tours,
        channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fold_into_one_sum_per_key_and_currency() {
        let row = |k: &str, c: &str, kind: &str, a: i64| (k.into(), c.into(), kind.into(), a);
        let folded = fold(vec![
            row("2026-05-01", "EUR", "payment", 7000),
            row("2026-05-01", "EUR", "refund", -1500),
            row("2026-05-01", "USD", "payment", 900),
            row("2026-05-02", "EUR", "refund", -200),
        ]);
        assert_eq!(folded.len(), 3);
        assert_eq!(
            folded[0],
            (
                "2026-05-01".to_owned(),
                Sums {
                    currency: "EUR".into(),
                    payments: 7000,
                    refunds: -1500,
                    net: 5500
                }
            )
        );
        assert_eq!(folded[1].1.net, 900);
        assert_eq!(
            folded[2].1,
            Sums {
                currency: "EUR".into(),
                payments: 0,
                refunds: -200,
                net: -200
            }
        );
    }

    #[test]
    fn the_load_factor_is_sold_of_offered() {
        let tour = |sold, capacity| TourReport {
            tour_id: String::new(),
            name: String::new(),
            sums: Vec::new(),
            departures: 1,
            capacity,
            sold,
        };
        assert_eq!(tour(3, 4).load_percent(), 75);
        assert_eq!(tour(0, 0).load_percent(), 0);
        assert_eq!(tour(10, 10).load_percent(), 100);
    }
}
