//! A run's result for people: the summary as text, and a self-contained HTML page whose charts
//! are SVG written here (no scripts, fonts or stylesheets from the network).

use std::fmt::Write as _;

use crate::stats::Summary;
use crate::verify;
use crate::RunResult;

/// The summary printed after a run.
pub fn text(result: &RunResult) -> String {
    let s = &result.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} against {} (seed {}, concurrency {}): {} requests in {:.1} s, {:.0}/s",
        result.config.scenario.as_str(),
        result.config.target,
        result.config.seed,
        result.config.concurrency,
        s.requests,
        s.duration_s,
        s.requests_per_s
    );
    if result.config.scenario == crate::Scenario::Ceiling || result.config.scenario.is_read() {
        let _ = writeln!(
            out,
            "successful responses (2xx): {} ({:.1}/s)",
            s.successes, s.successes_per_s
        );
    } else {
        let _ = writeln!(
            out,
            "successful bookings: {} ({:.1}/s)",
            s.bookings, s.bookings_per_s
        );
    }
    if result.ledger.keys > 0 {
        let _ = writeln!(
            out,
            "idempotency keys: {} sent ({} copies each + 1 late), {} made a booking, {} misbehaved",
            result.ledger.keys,
            result.config.copies,
            result.ledger.keys_booked,
            result.ledger.idempotency_violations.len()
        );
    }
    let _ = writeln!(
        out,
        "\n{:<11} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "kind", "count", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s"
    );
    for (kind, k) in &s.kinds {
        let l = &k.latency_ms;
        let _ = writeln!(
            out,
            "{kind:<11} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.0}",
            k.count, l.p50, l.p90, l.p99, l.max, k.per_second
        );
    }
    let statuses: Vec<String> = s
        .statuses
        .iter()
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    let _ = writeln!(out, "\nstatus codes: {}", statuses.join(", "));
    let errors: Vec<String> = s.errors.iter().map(|(c, n)| format!("{c}: {n}")).collect();
    let _ = writeln!(
        out,
        "errors by kind: {}",
        if errors.is_empty() {
            "none".to_owned()
        } else {
            errors.join(", ")
        }
    );
    if s.dropped_arrivals > 0 {
        let _ = writeln!(
            out,
            "warning: {} arrivals were not sent because {} requests were already in flight; \
             raise --concurrency or lower --rate",
            s.dropped_arrivals, result.config.concurrency
        );
    }
    if let Some(v) = &result.verification {
        let _ = write!(out, "\n{}", verify::render(v, 20));
    }
    if result.passed {
        let _ = writeln!(out, "\nRESULT: PASSED");
    } else {
        let _ = writeln!(out, "\nRESULT: FAILED");
        for failure in &result.failures {
            let _ = writeln!(out, "  - {failure}");
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart of `series` (name, colour, points) over seconds.
fn line_chart(title: &str, unit: &str, series: &[(&str, &str, Vec<f64>)]) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 260.0, 60.0, 20.0, 30.0, 40.0);
    let n = series.iter().map(|s| s.2.len()).max().unwrap_or(0).max(2);
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.1;
    let x = |i: usize| left + (w - left - right) * i as f64 / (n - 1) as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}">
<text x="{left}" y="18" font-size="14" font-weight="bold">{t}</text>
"#,
        t = escape(title)
    );
    for tick in 0..=4 {
        let v = max / 1.1 * f64::from(tick) / 4.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            w - right,
            left - 6.0,
            y(v) + 4.0,
            format_number(v),
            y = y(v)
        );
    }
    let step = (n / 10).max(1);
    for i in (0..n).step_by(step) {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle">{i}s</text>"#,
            x(i),
            h - bottom + 16.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"#,
        w - right,
        h - 6.0,
        escape(unit)
    );
    for (k, (name, colour, points)) in series.iter().enumerate() {
        let path: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        let lx = left + 10.0 + 150.0 * k as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{lx}" y="{}" width="12" height="4" fill="{colour}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            h - 12.0,
            lx + 16.0,
            h - 8.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Horizontal bars of status codes.
fn status_chart(summary: &Summary) -> String {
    let rows: Vec<(&String, &u64)> = summary.statuses.iter().collect();
    let max = rows.iter().map(|(_, n)| **n).max().unwrap_or(1).max(1) as f64;
    let h = 40.0 + 26.0 * rows.len() as f64;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 720 {h}" width="720" height="{h}" role="img" aria-label="Status codes">
<text x="60" y="18" font-size="14" font-weight="bold">Status codes</text>
"#
    );
    for (i, (status, n)) in rows.iter().enumerate() {
        let y = 30.0 + 26.0 * i as f64;
        let colour = match status.chars().next() {
            Some('2') => "#2e7d32",
            Some('4') => "#f9a825",
            _ => "#c62828",
        };
        let width = 560.0 * **n as f64 / max;
        let _ = writeln!(
            svg,
            r#"<text x="50" y="{:.1}" font-size="12" text-anchor="end">{status}</text><rect x="60" y="{y:.1}" width="{width:.1}" height="18" fill="{colour}"/><text x="{:.1}" y="{:.1}" font-size="12">{n}</text>"#,
            y + 13.0,
            66.0 + width,
            y + 13.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn format_number(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The HTML report: summary tables, throughput and latency over time, status codes,
/// verification. Everything inline.
pub fn html(result: &RunResult) -> String {
    let s = &result.summary;
    // The last second is usually a sliver (answers arriving after the deadline): leave it out
    // of the charts rather than draw a cliff.
    let whole = |p: &&crate::stats::TimelinePoint| {
        p.second == 0 || (p.second + 1) as f64 <= s.duration_s + 0.1
    };
    let timeline: Vec<&crate::stats::TimelinePoint> = s.timeline.iter().filter(whole).collect();
    let col = |f: fn(&crate::stats::TimelinePoint) -> f64| {
        timeline.iter().copied().map(f).collect::<Vec<f64>>()
    };
    let throughput = line_chart(
        "Throughput",
        "per second",
        &[
            ("requests/s", "#1565c0", col(|p| p.requests as f64)),
            (
                "successful bookings/s",
                "#2e7d32",
                col(|p| p.bookings as f64),
            ),
            ("non-2xx/s", "#f9a825", col(|p| p.errors as f64)),
            ("5xx/s", "#c62828", col(|p| p.server_errors as f64)),
        ],
    );
    let latency = line_chart(
        "Latency percentiles (all requests)",
        "milliseconds",
        &[
            ("p50", "#2e7d32", col(|p| p.p50_ms)),
            ("p90", "#f9a825", col(|p| p.p90_ms)),
            ("p99", "#c62828", col(|p| p.p99_ms)),
        ],
    );
    let mut kinds = String::new();
    for (kind, k) in &s.kinds {
        let l = &k.latency_ms;
        let statuses: Vec<String> = k
            .statuses
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        let _ = writeln!(
            kinds,
            "<tr><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td></tr>",
            escape(kind),
            k.count,
            k.per_second,
            l.p50,
            l.p90,
            l.p99,
            l.max,
            escape(&statuses.join(", "))
        );
    }
    let errors: Vec<String> = s
        .errors
        .iter()
        .map(|(c, n)| format!("<li>{}: {n}</li>", escape(c)))
        .collect();
    let verification = match &result.verification {
        Some(v) => format!("<pre>{}</pre>", escape(&verify::render(v, 200))),
        None => "<p>No fixtures, nothing to verify.</p>".to_owned(),
    };
    let verdict = if result.passed {
        r#"<p class="pass">PASSED</p>"#.to_owned()
    } else {
        let list: Vec<String> = result
            .failures
            .iter()
            .map(|f| format!("<li>{}</li>", escape(f)))
            .collect();
        format!(r#"<p class="fail">FAILED</p><ul>{}</ul>"#, list.join(""))
    };
    let config = serde_json::to_string_pretty(&result.config).unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>berth-load {scenario} {started}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: .25em .6em; text-align: right; }}
td:first-child, th:first-child, td:last-child {{ text-align: left; }}
.pass {{ color: #2e7d32; font-weight: bold; font-size: 1.4em; }} .fail {{ color: #c62828; font-weight: bold; font-size: 1.4em; }}
pre {{ background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: .85em; }}
</style></head><body>
<h1>berth-load: {scenario}</h1>
<p>Target <code>{target}</code>, started {started}, {requests} requests in {duration:.1} s ({rps:.0}/s),
<b>{bookings} successful bookings ({bps:.1}/s)</b>, {server_errors} 5xx.</p>
{verdict}
<h2>Over time</h2>
{throughput}{latency}
<h2>Per request kind (latency in ms)</h2>
<table><tr><th>kind</th><th>count</th><th>req/s</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>statuses</th></tr>
{kinds}</table>
{status_chart}
<h2>Errors by kind</h2><ul>{errors}</ul>
<h2>Verification</h2>
{verification}
<h2>Configuration</h2><pre>{config}</pre>
</body></html>
"#,
        scenario = result.config.scenario.as_str(),
        started = escape(&result.started_at),
        target = escape(&result.config.target),
        requests = s.requests,
        duration = s.duration_s,
        rps = s.requests_per_s,
        bookings = s.bookings,
        bps = s.bookings_per_s,
        server_errors = s.server_errors,
        status_chart = status_chart(s),
        errors = if errors.is_empty() {
            "<li>none</li>".to_owned()
        } else {
            errors.join("")
        },
        config = escape(&config),
    )
}
