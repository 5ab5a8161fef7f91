//! Reports in the console (admins, as `GET /v1/reports/revenue`): money taken and given back
//! over a range of UTC dates, from the ledger, as a chart of each day's net (SVG drawn here: no
//! script, no library) with the table it draws, per tour with the load factor of its departures,
//! and both as CSV.

use chrono::NaiveDate;
use minijinja::{context, Value};
use rocket::http::{ContentType, Header, Status};
use rocket::{get, State};

use super::{frame, Console};
use crate::clock::Clock;
use crate::domain::lang::Lang;
use crate::domain::money::format_major;
use crate::error::AppError;
use crate::http::guards::Admin;
use crate::http::rate_limit::RateLimited;
use crate::http::views::csv_cell;
use crate::i18n::format::money;
use crate::service::reports::{self, Breakdown};
use crate::storage::Store;
use crate::web::{Page, WebError};

/// Escapes text for an SVG (XML) element or attribute.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar per day of `net` in `currency`: up from the zero line for money in, down for money out.
/// Each bar carries its date and amount as a tooltip; the table beside it says the same in text.
pub fn chart(days: &[(NaiveDate, i64)], currency: &str, lang: Lang, label: &str) -> String {
    let (width, height, left, bottom, top) = (720.0_f64, 220.0_f64, 8.0, 24.0, 16.0);
    let highest = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(0);
    let lowest = days.iter().map(|(_, n)| *n).min().unwrap_or(0).min(0);
    let span = ((highest - lowest) as f64).max(1.0);
    let plot = height - top - bottom;
    let zero = top + plot * (highest as f64 / span);
    let slot = (width - left * 2.0) / days.len().max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    let mut svg = format!(
        r##"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{label}" preserveAspectRatio="none">"##,
        label = xml(label)
    );
    svg.push_str(&format!(
        r##"<line x1="{left}" y1="{zero:.1}" x2="{x2}" y2="{zero:.1}" stroke="#4a5560" stroke-width="1"/>"##,
        x2 = width - left
    ));
    for (i, (date, net)) in days.iter().enumerate() {
        let h = plot * (net.unsigned_abs() as f64 / span);
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let (y, fill) = if *net >= 0 {
            (zero - h, "#0b4f71")
        } else {
            (zero, "#8a1c1c")
        };
        svg.push_str(&format!(
            r##"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{fill}"><title>{}: {}</title></rect>"##,
            xml(&date.to_string()),
            xml(&money(*net, currency, lang))
        ));
    }
    if let (Some((first, _)), Some((last, _))) = (days.first(), days.last()) {
        svg.push_str(&format!(
            r##"<text x="{left}" y="{ty}" font-size="12" fill="#1f2933">{}</text><text x="{tx}" y="{ty}" font-size="12" fill="#1f2933" text-anchor="end">{}</text>"##,
            xml(&first.to_string()),
            xml(&last.to_string()),
            ty = height - 6.0,
            tx = width - left,
        ));
    }
    svg.push_str(&format!(
        r##"<text x="{left}" y="12" font-size="12" fill="#1f2933">{}</text></svg>"##,
        xml(&money(highest, currency, lang))
    ));
    svg
}

/// `GET /console/reports?from=&to=`: the report for UTC dates `from..=to` (default: the last 30
/// days). A bad date shows the form again with the problem beside it.
#[get("/console/reports?<from>&<to>")]
pub async fn page(
    _rate: RateLimited,
    user: Console<Admin>,
    from: Option<&str>,
    to: Option<&str>,
    lang: Lang,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let now = clock.now();
    let typed = context! { from => from.unwrap_or_default(), to => to.unwrap_or_default() };
    let frame = frame(store, &principal, "/console/reports").await;
    let report = match reports::breakdown(store, now, &principal.operator, from, to).await {
        Ok(report) => report,
        Err(AppError::Validation(errors)) => {
            return Ok(Page::new(
                "console/reports.html",
                context! { console => frame, search => typed, errors => errors, report => () },
            )
            .status(Status::UnprocessableEntity));
        }
        Err(other) => return Err(other.into()),
    };
    let catalogue =
        crate::i18n::Catalogue::shared().map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let charts: Vec<Value> = report
        .totals
        .iter()
        .map(|total| {
            let days: Vec<(NaiveDate, i64)> = report
                .days
                .iter()
                .map(|(date, sums)| {
                    let net = sums
                        .iter()
                        .filter(|s| s.currency == total.currency)
                        .map(|s| s.net)
                        .sum();
                    (*date, net)
                })
                .collect();
            let mut args = fluent_bundle::FluentArgs::new();
            args.set("currency", total.currency.clone());
            let label = catalogue.message(lang, "console-reports-chart", Some(&args));
            context! {
                currency => total.currency,
                svg => Value::from_safe_string(chart(&days, &total.currency, lang, &label)),
            }
        })
        .collect();
    let days: Vec<Value> = report
        .days
        .iter()
        .flat_map(|(date, sums)| {
            sums.iter()
                .filter(|s| s.payments != 0 || s.refunds != 0)
                .map(move |s| {
                    context! {
                        date => date.to_string(), currency => s.currency, payments => s.payments,
                        refunds => s.refunds, net => s.net,
                    }
                })
        })
        .collect();
    let tours: Vec<Value> = report
        .tours
        .iter()
        .map(|t| {
            let sums: Vec<Value> = t
                .sums
                .iter()
                .map(|s| context! { currency => s.currency, payments => s.payments, refunds => s.refunds, net => s.net })
                .collect();
            context! {
                name => t.name, departures => t.departures, capacity => t.capacity, sold => t.sold,
                load => t.load_percent(), sums => sums,
            }
        })
        .collect();
    let totals: Vec<Value> = report
        .totals
        .iter()
        .map(|t| context! { currency => t.currency, payments => t.payments, refunds => t.refunds, net => t.net })
        .collect();
    let channels: Vec<Value> = report
        .channels
        .iter()
        .map(|c| {
            context! {
                reseller => c.reseller.as_ref().map(|(_, name)| name.clone()), currency => c.currency,
                gross => c.gross, commission => c.commission, net => c.net,
            }
        })
        .collect();
    let range = format!("from={}&to={}", report.from, report.to);
    Ok(Page::new(
        "console/reports.html",
        context! {
            console => frame,
            search => context! { from => report.from.to_string(), to => report.to.to_string() },
            errors => context! {},
            report => context! {
                from => report.from.to_string(), to => report.to.to_string(), totals => totals,
                charts => charts, days => days, tours => tours, channels => channels, range => range,
            },
        },
    ))
}

/// A CSV download, named for the report and its dates.
pub struct Csv {
    name: String,
    body: String,
}

impl<'r> rocket::response::Responder<'r, 'static> for Csv {
    fn respond_to(self, request: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        let mut response = (ContentType::CSV, self.body).respond_to(request)?;
        response.set_header(Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", self.name),
        ));
        Ok(response)
    }
}

/// Amounts in a CSV: the currency's major unit (`12.50`), as a spreadsheet reads a number.
fn major(minor: i64, currency: &str) -> String {
    format_major(minor, currency)
}

/// The report's rows as CSV: `days` (one row per day and currency that moved) or `tours`.
pub fn csv(report: &Breakdown, kind: &str) -> String {
    let mut out = String::new();
    if kind == "tours" {
        out.push_str("tour,departures,seats_offered,seats_sold,load_percent,currency,payments,refunds,net\r\n");
        for t in &report.tours {
            let head = format!(
                "{},{},{},{},{}",
                csv_cell(&t.name),
                t.departures,
                t.capacity,
                t.sold,
                t.load_percent()
            );
            if t.sums.is_empty() {
                out.push_str(&format!("{head},,,,\r\n"));
            }
            for s in &t.sums {
                out.push_str(&format!(
                    "{head},{},{},{},{}\r\n",
                    s.currency,
                    major(s.payments, &s.currency),
                    major(s.refunds, &s.currency),
                    major(s.net, &s.currency)
                ));
            }
        }
    } else {
        out.push_str("date,currency,payments,refunds,net\r\n");
        for (date, sums) in &report.days {
            for s in sums.iter().filter(|s| s.payments != 0 || s.refunds != 0) {
                out.push_str(&format!(
                    "{date},{},{},{},{}\r\n",
                    s.currency,
                    major(s.payments, &s.currency),
                    major(s.refunds, &s.currency),
                    major(s.net, &s.currency)
                ));
            }
        }
    }
    out
}

/// `GET /console/reports.csv?from=&to=&kind=days|tours`: the report as CSV.
#[get("/console/reports.csv?<from>&<to>&<kind>")]
pub async fn download(
    _rate: RateLimited,
    user: Console<Admin>,
    from: Option<&str>,
    to: Option<&str>,
    kind: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Csv, WebError> {
    let report = reports::breakdown(store, clock.now(), &user.0.operator, from, to).await?;
    let kind = if kind == Some("tours") {
        "tours"
    } else {
        "days"
    };
    Ok(Csv {
        name: format!("berth-{kind}-{}-{}.csv", report.from, report.to),
        body: csv(&report, kind),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_a_bar_per_day_up_for_money_in_and_down_for_money_out() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 5, day).unwrap();
        let svg = chart(
            &[(d(1), 7000), (d(2), 0), (d(3), -1500)],
            "EUR",
            Lang::En,
            "Net <EUR>",
        );
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(
            svg.contains(r##"fill="#8a1c1c"><title>2026-05-03: -€15.00</title>"##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"fill="#0b4f71"><title>2026-05-01: €70.00</title>"##),
            "{svg}"
        );
        assert!(
            svg.contains(r#"aria-label="Net &lt;EUR&gt;""#),
            "escaped: {svg}"
        );
        assert!(
            !svg.contains("style="),
            "no inline style for the CSP to refuse"
        );
    }
}
