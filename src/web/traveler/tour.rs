//! `GET /tours/{id}` (and `/tours/{id}/{slug}`): a tour with its prices (the lowest its departures
//! on sale sell at, "from" where they differ), cancellation policy and
//! a month calendar of departures; `?month=YYYY-MM` pages through months, `?day=YYYY-MM-DD`
//! lists that day's departures at tour-local times. Everything works with plain links.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use minijinja::context;
use rocket::response::Redirect;
use rocket::{get, Either, State};
use serde::Serialize;

use super::calendar::{self, DayState, Month, Seats, MONTHS_AHEAD};
use super::policy::{self, PolicyLine};
use crate::clock::Clock;
use crate::domain::capacity::SalesStatus;
use crate::domain::ids::{OperatorId, TourId};
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::domain::recurrence::parse_date;
use crate::error::AppError;
use crate::http::rate_limit::RateLimited;
use crate::service::catalogue::{self, DateRange};
use crate::service::operators;
use crate::storage::Store;
use crate::web::{Cache, Page, WebError};

/// A readable URL segment from a tour's name: `Lisbon harbour cruise` → `lisbon-harbour-cruise`
/// (ASCII letters and digits; anything else separates words).
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// The tour page's own URL: with the slug when the name gives one.
pub fn path(tour: &TourRecord) -> String {
    match slug(&tour.tour.name) {
        s if s.is_empty() => format!("/tours/{}", tour.id),
        s => format!("/tours/{}/{s}", tour.id),
    }
}

#[get("/tours/<id>?<month>&<day>")]
pub async fn tour_page(
    _rate: RateLimited,
    id: &str,
    month: Option<&str>,
    day: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let tour = load(store, id).await?;
    render(store, clock.now(), &tour, month, day).await
}

/// The same page under its readable URL; a stale or wrong slug redirects to the current one.
#[get("/tours/<id>/<slug>?<month>&<day>")]
pub async fn tour_page_with_slug(
    _rate: RateLimited,
    id: &str,
    slug: &str,
    month: Option<&str>,
    day: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Either<Page, Redirect>, WebError> {
    let tour = load(store, id).await?;
    let canonical = path(&tour);
    if canonical.rsplit('/').next() != Some(slug) {
        let query = [("month", month), ("day", day)]
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| is_plain(v)).map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join("&");
        let target = if query.is_empty() {
            canonical
        } else {
            format!("{canonical}?{query}")
        };
        return Ok(Either::Right(Redirect::moved(target)));
    }
    Ok(Either::Left(
        render(store, clock.now(), &tour, month, day).await?,
    ))
}

/// One tour in an operator's catalogue page.
#[derive(Serialize)]
struct CatalogueEntry {
    name: String,
    description: String,
    path: String,
    duration_hours: u32,
    duration_minutes: u32,
    /// The lowest unit price on its departures on sale in the next 93 days (price rules and
    /// departures' own prices included; the base prices when none is on sale), in the tour's
    /// currency.
    from_price: i64,
    currency: String,
}

/// `GET /tours?operator=<id>`: all of an operator's tours, each linking to its page (the widget
/// for a whole catalogue). An operator without tours has no catalogue: 404.
#[get("/tours?<operator>")]
pub async fn catalogue_page(
    _rate: RateLimited,
    operator: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let now = clock.now();
    let operator = operator
        .and_then(OperatorId::parse)
        .ok_or(AppError::NotFound)?;
    let tours: Vec<_> = catalogue::list_tours(store, &operator)
        .await?
        .into_iter()
        .filter(|t| t.archived_at.is_none())
        .collect();
    if tours.is_empty() {
        return Err(AppError::NotFound.into());
    }
    let name = operators::profile(store, &operator).await?.name;
    let upcoming = catalogue::upcoming_by_tour(store, now, &operator).await?;
    let entries: Vec<CatalogueEntry> = tours
        .iter()
        .map(|record| CatalogueEntry {
            name: record.tour.name.clone(),
            description: record.tour.description.clone(),
            path: path(record),
            duration_hours: record.tour.duration_minutes / 60,
            duration_minutes: record.tour.duration_minutes % 60,
            from_price: record.price_from(upcoming.get(&record.id).into_iter().flatten(), now),
            currency: record.tour.currency.to_string(),
        })
        .collect();
    let framing = operators::embed_origins(store, &operator).await?;
    Ok(Page::new(
        "traveler/tours.html",
        context! { operator_name => name, tours => entries },
    )
    .cache(Cache::Brief)
    .framed_by(framing))
}

/// Digits and dashes only: what `month` and `day` look like (anything else is not carried
/// into a redirect).
fn is_plain(value: &str) -> bool {
    value.len() <= 10 && value.chars().all(|c| c.is_ascii_digit() || c == '-')
}

async fn load(store: &Store, id: &str) -> Result<TourRecord, AppError> {
    let id = TourId::parse(id).ok_or(AppError::NotFound)?;
    catalogue::public_tour(store, &id).await
}

async fn render(
    store: &Store,
    now: DateTime<Utc>,
    tour: &TourRecord,
    month: Option<&str>,
    day: Option<&str>,
) -> Result<Page, WebError> {
    let today = now.with_timezone(&tour.tour.timezone).date_naive();
    let (month, day) = choose(today, month, day)?;
    let (Some(from), Some(to)) = (month.first_day(), month.last_day()) else {
        return Err(AppError::NotFound.into());
    };
    let departures = catalogue::departures_on(store, now, tour, &DateRange { from, to }).await?;
    let upcoming = catalogue::upcoming_of_tour(store, now, tour).await?;
    let prices = tour.price_ranges(&upcoming, now);
    let view = TourPageView::new(tour, now, today, month, day, &departures, &prices);
    let framing = operators::embed_origins(store, &tour.operator_id).await?;
    Ok(Page::new("traveler/tour.html", context! { page => view })
        .cache(Cache::Brief)
        .framed_by(framing))
}

/// The month to show and the day picked: `?day=` alone picks its month; no month means the
/// current one. Months before today's or more than [`MONTHS_AHEAD`] ahead are not pages.
fn choose(
    today: NaiveDate,
    month: Option<&str>,
    day: Option<&str>,
) -> Result<(Month, Option<NaiveDate>), AppError> {
    let day = day
        .map(|d| parse_date(d).map_err(|_| AppError::invalid("day", "must be a date YYYY-MM-DD")))
        .transpose()?;
    let month = match (month, day) {
        (Some(text), _) => {
            Month::parse(text).ok_or_else(|| AppError::invalid("month", "must be YYYY-MM"))?
        }
        (None, Some(day)) => Month::of(day),
        (None, None) => Month::of(today),
    };
    if !(0..=MONTHS_AHEAD).contains(&Month::of(today).months_until(month)) {
        return Err(AppError::NotFound);
    }
    if day.is_some_and(|d| Month::of(d) != month) {
        return Err(AppError::invalid("day", "must lie in the month shown"));
    }
    Ok((month, day))
}

#[derive(Serialize)]
struct TourPageView {
    id: String,
    path: String,
    name: String,
    description: String,
    meeting_point: String,
    duration_hours: u32,
    duration_minutes: u32,
    currency: String,
    min_per_booking: u32,
    max_per_booking: u32,
    units: Vec<UnitView>,
    policy: Vec<PolicyLine>,
    zone: String,
    calendar: CalendarView,
    day: Option<DayDepartures>,
}

/// A unit's price as the tour page lists it: the lowest it sells at on the departures on sale
/// in the next 93 days (as the catalogue's "from" price), `varies` when some of them sell it
/// higher (by date or a departure's own price), so the page says "from".
#[derive(Serialize)]
struct UnitView {
    label: String,
    price: i64,
    varies: bool,
}

#[derive(Serialize)]
struct CalendarView {
    /// `YYYY-MM`.
    key: String,
    year: i32,
    month: u32,
    previous: Option<String>,
    next: Option<String>,
    weeks: Vec<Vec<Option<DayView>>>,
}

#[derive(Serialize)]
struct DayView {
    date: String,
    day: u32,
    /// `none`, `available`, `few`, `sold_out` or `closed`.
    state: &'static str,
    /// Seats on sale that day, in all.
    seats: u32,
    selected: bool,
    today: bool,
}

#[derive(Serialize)]
struct DayDepartures {
    date: String,
    departures: Vec<DepartureView>,
}

#[derive(Serialize)]
struct DepartureView {
    id: String,
    starts_at: String,
    local_time: String,
    zone_abbreviation: String,
    status: &'static str,
    available: u32,
    /// `scheduled`, `guaranteed` or `needs_participants` (as the API's `run_status`).
    run_status: &'static str,
    /// With `needs_participants`: how many more travelers it needs to run.
    needs: u32,
}

impl TourPageView {
    fn new(
        record: &TourRecord,
        now: DateTime<Utc>,
        today: NaiveDate,
        month: Month,
        picked: Option<NaiveDate>,
        departures: &[DepartureRecord],
        prices: &BTreeMap<String, (i64, i64)>,
    ) -> TourPageView {
        let tour = &record.tour;
        let tz = tour.timezone;
        let mut by_day: BTreeMap<NaiveDate, Vec<&DepartureRecord>> = BTreeMap::new();
        for departure in departures {
            let local = departure
                .occupancy
                .starts_at
                .with_timezone(&tz)
                .date_naive();
            by_day.entry(local).or_default().push(departure);
        }
        let seats = |o: &&DepartureRecord| Seats {
            status: o.occupancy.sales_status(tour.cutoff_minutes, now),
            available: o.occupancy.available(),
        };
        let weeks = calendar::weeks(month)
            .into_iter()
            .map(|week| {
                week.iter()
                    .map(|date| {
                        date.map(|date| {
                            let day: Vec<Seats> = by_day
                                .get(&date)
                                .map(|list| list.iter().map(seats).collect())
                                .unwrap_or_default();
                            let state = calendar::summarize(&day);
                            let seats = match state {
                                DayState::Available(n) | DayState::Few(n) => n,
                                _ => 0,
                            };
                            DayView {
                                date: date.to_string(),
                                day: chrono::Datelike::day(&date),
                                state: state.as_str(),
                                seats,
                                selected: picked == Some(date),
                                today: date == today,
                            }
                        })
                    })
                    .collect()
            })
            .collect();
        let current = Month::of(today);
        let calendar = CalendarView {
            key: month.key(),
            year: month.year,
            month: month.month,
            previous: (current.months_until(month) > 0).then(|| month.previous().key()),
            next: (current.months_until(month) < MONTHS_AHEAD).then(|| month.next().key()),
            weeks,
        };
        let day = picked.map(|date| DayDepartures {
            date: date.to_string(),
            departures: by_day
                .get(&date)
                .into_iter()
                .flatten()
                .map(|o| {
                    let local = o.occupancy.starts_at.with_timezone(&tz);
                    DepartureView {
                        id: o.id.to_string(),
                        starts_at: local.to_rfc3339_opts(SecondsFormat::Secs, true),
                        local_time: local.format("%H:%M").to_string(),
                        zone_abbreviation: local.format("%Z").to_string(),
                        status: match o.occupancy.sales_status(tour.cutoff_minutes, now) {
                            SalesStatus::Open => "open",
                            SalesStatus::SoldOut => "sold_out",
                            SalesStatus::Closed => "closed",
                            SalesStatus::Cancelled => "cancelled",
                        },
                        available: o.occupancy.available(),
                        run_status: crate::http::views::run_status(o.standing(tour)),
                        needs: o.standing(tour).needs().unwrap_or(0),
                    }
                })
                .collect(),
        });
        TourPageView {
            id: record.id.to_string(),
            path: path(record),
            name: tour.name.clone(),
            description: tour.description.clone(),
            meeting_point: tour.meeting_point.clone(),
            duration_hours: tour.duration_minutes / 60,
            duration_minutes: tour.duration_minutes % 60,
            currency: tour.currency.to_string(),
            min_per_booking: tour.min_per_booking,
            max_per_booking: tour.max_per_booking,
            units: tour
                .units
                .iter()
                .map(|u| {
                    let (lowest, highest) =
                        prices.get(&u.code).copied().unwrap_or((u.price, u.price));
                    UnitView {
                        label: u.label.clone(),
                        price: lowest,
                        varies: highest > lowest,
                    }
                })
                .collect(),
            policy: policy::describe(&tour.cancellation_policy),
            zone: tz.name().to_owned(),
            calendar,
            day,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_dashes() {
        assert_eq!(
            slug("Lisbon harbour sunset cruise"),
            "lisbon-harbour-sunset-cruise"
        );
        assert_eq!(slug("  Tour #1 -- (Bay) "), "tour-1-bay");
        assert_eq!(slug("Passeio à Sintra"), "passeio-sintra");
        assert_eq!(slug("<script>"), "script");
        assert_eq!(slug("東京"), "");
        assert!(slug(&"a".repeat(500)).len() <= 60);
    }

    #[test]
    fn the_month_comes_from_the_query_the_day_or_today() {
        let today = NaiveDate::from_ymd_opt(2027, 5, 20).unwrap();
        let may = Month {
            year: 2027,
            month: 5,
        };
        assert_eq!(choose(today, None, None).unwrap(), (may, None));
        let june_3 = NaiveDate::from_ymd_opt(2027, 6, 3).unwrap();
        assert_eq!(
            choose(today, None, Some("2027-06-03")).unwrap(),
            (may.next(), Some(june_3))
        );
        assert!(matches!(
            choose(today, Some("2027-04"), None),
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            choose(today, Some("2029-06"), None),
            Err(AppError::NotFound)
        ));
        assert!(choose(today, Some("2029-05"), None).is_ok());
        assert!(matches!(
            choose(today, Some("2027-05"), Some("2027-06-03")),
            Err(AppError::Validation(_))
        ));
        assert!(matches!(
            choose(today, Some("May"), None),
            Err(AppError::Validation(_))
        ));
        assert!(matches!(
            choose(today, None, Some("2027-02-30")),
            Err(AppError::Validation(_))
        ));
    }
}
