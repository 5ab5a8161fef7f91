//! The month calendar of a tour's departures: which month a request asks for, the weeks of that
//! month, and what each day says (seats, few left, sold out, closed). Pure: the seat and sales
//! rules come from `domain::capacity` (each departure's `SalesStatus` and `available()`); this
//! only sums them up per day.

use crate::domain::capacity::SalesStatus;
use chrono::{Datelike, Duration, NaiveDate};

/// At or below this many seats on a day, the calendar says how many are left.
pub const FEW_SEATS: u32 = 5;

/// How many months ahead of the current one the calendar goes.
pub const MONTHS_AHEAD: i32 = 24;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// `2027-05` → May 2027.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let month = Month {
            year: year.parse().ok()?,
            month: month.parse().ok()?,
        };
        month.first_day().map(|_| month)
    }

    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    pub fn last_day(self) -> Option<NaiveDate> {
        self.next().first_day()?.pred_opt()
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Months from `self` to `later` (negative when `later` is earlier).
    pub fn months_until(self, later: Month) -> i32 {
        (later.year - self.year) * 12 + later.month as i32 - self.month as i32
    }

    /// `2027-05`, as in `?month=`.
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// What a day of the calendar says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayState {
    /// No departure on this day.
    None,
    /// At least one departure can be booked, with more than [`FEW_SEATS`] seats in all.
    Available(u32),
    /// Bookable, but only this many seats left in all (at most [`FEW_SEATS`]).
    Few(u32),
    /// Every departure still on sale is full.
    SoldOut,
    /// Nothing on sale: sales have closed (cutoff passed) or the departures are cancelled.
    Closed,
}

impl DayState {
    pub const fn as_str(self) -> &'static str {
        match self {
            DayState::None => "none",
            DayState::Available(_) => "available",
            DayState::Few(_) => "few",
            DayState::SoldOut => "sold_out",
            DayState::Closed => "closed",
        }
    }
}

/// One departure as the calendar sees it: its sales status and seats available now.
#[derive(Debug, Clone, Copy)]
pub struct Seats {
    pub status: SalesStatus,
    pub available: u32,
}

/// Sums up a day's departures: bookable if any is open (saying how many seats when few);
/// otherwise sold out if one is only full; otherwise closed.
pub fn summarize(departures: &[Seats]) -> DayState {
    let open: u32 = departures
        .iter()
        .filter(|d| d.status == SalesStatus::Open)
        .map(|d| d.available)
        .sum();
    let any = |status| departures.iter().any(|d| d.status == status);
    if any(SalesStatus::Open) {
        if open <= FEW_SEATS {
            DayState::Few(open)
        } else {
            DayState::Available(open)
        }
    } else if any(SalesStatus::SoldOut) {
        DayState::SoldOut
    } else if departures.is_empty() {
        DayState::None
    } else {
        DayState::Closed
    }
}

/// The dates shown for a month, Monday first, in whole weeks; days outside the month are
/// `None` (blank cells).
pub fn weeks(month: Month) -> Vec<[Option<NaiveDate>; 7]> {
    let (Some(first), Some(last)) = (month.first_day(), month.last_day()) else {
        return Vec::new();
    };
    let lead = i64::from(first.weekday().num_days_from_monday());
    let mut start = first - Duration::days(lead);
    let mut weeks = Vec::new();
    while start <= last {
        let mut week = [None; 7];
        for (i, cell) in week.iter_mut().enumerate() {
            let date = start + Duration::days(i as i64);
            *cell = (date.month() == month.month).then_some(date);
        }
        weeks.push(week);
        start += Duration::days(7);
    }
    weeks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seats(status: SalesStatus, available: u32) -> Seats {
        Seats { status, available }
    }

    #[test]
    fn a_day_is_bookable_when_any_departure_is_open() {
        use SalesStatus::*;
        assert_eq!(summarize(&[]), DayState::None);
        assert_eq!(summarize(&[seats(Open, 12)]), DayState::Available(12));
        assert_eq!(
            summarize(&[seats(Open, 3), seats(SoldOut, 0)]),
            DayState::Few(3)
        );
        assert_eq!(
            summarize(&[seats(Open, 3), seats(Open, 3)]),
            DayState::Available(6)
        );
        assert_eq!(summarize(&[seats(Open, 5)]), DayState::Few(5));
        assert_eq!(
            summarize(&[seats(Closed, 8), seats(Open, 2)]),
            DayState::Few(2),
            "seats of a departure no longer on sale are not offered"
        );
    }

    #[test]
    fn a_day_with_nothing_open_is_sold_out_or_closed() {
        use SalesStatus::*;
        assert_eq!(summarize(&[seats(SoldOut, 0)]), DayState::SoldOut);
        assert_eq!(
            summarize(&[seats(SoldOut, 0), seats(Cancelled, 10)]),
            DayState::SoldOut
        );
        assert_eq!(summarize(&[seats(Cancelled, 10)]), DayState::Closed);
        assert_eq!(
            summarize(&[seats(Closed, 10), seats(Cancelled, 4)]),
            DayState::Closed
        );
    }

    #[test]
    fn months_parse_strictly_and_step_across_years() {
        assert_eq!(
            Month::parse("2027-05"),
            Some(Month {
                year: 2027,
                month: 5
            })
        );
        for bad in [
            "2027-13", "2027-00", "2027-5", "27-05", "2027/05", "", "abcd-ef",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        let december = Month {
            year: 2027,
            month: 12,
        };
        assert_eq!(
            december.next(),
            Month {
                year: 2028,
                month: 1
            }
        );
        assert_eq!(december.next().previous(), december);
        assert_eq!(
            december.months_until(Month {
                year: 2029,
                month: 2
            }),
            14
        );
        assert_eq!(
            Month {
                year: 2028,
                month: 2
            }
            .last_day(),
            NaiveDate::from_ymd_opt(2028, 2, 29)
        );
        assert_eq!(december.key(), "2027-12");
    }

    #[test]
    fn weeks_start_on_monday_and_cover_the_whole_month() {
        // May 2027 starts on a Saturday and ends on a Monday: six rows.
        let may = weeks(Month {
            year: 2027,
            month: 5,
        });
        assert_eq!(may.len(), 6);
        assert_eq!(may[0][5], NaiveDate::from_ymd_opt(2027, 5, 1));
        assert!(may[0][..5].iter().all(Option::is_none));
        assert_eq!(may[5][0], NaiveDate::from_ymd_opt(2027, 5, 31));
        let days: usize = may.iter().flatten().flatten().count();
        assert_eq!(days, 31);
        // February 2027 starts on a Monday and fills exactly four rows.
        assert_eq!(
            weeks(Month {
                year: 2027,
                month: 2
            })
            .len(),
            4
        );
    }
}
