"""Writes the history table of load-tests/bench.sh (BENCH_HISTORY=1, issue 18): each figure on the
empty database next to the same figure after the bulk history load, with the ratio, berth's
memory, `berth check`, the table sizes and the query plans. Reads the run's results from $WORK;
the argument is the file to write (load-tests/HISTORY.md, or a temp file in the smoke run)."""

import datetime
import json
import os
import sys

work, out = os.environ["WORK"], sys.argv[1]
backends = os.environ["BACKENDS"].split()


def load(name):
    try:
        with open(os.path.join(work, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def text(name, default=None):
    try:
        with open(os.path.join(work, name)) as f:
            return f.read().strip()
    except OSError:
        return default


def run(name):
    r = load(name)
    if r is None:
        return None
    s = r["summary"]
    kind = s["kinds"].get("hold") or s["kinds"].get("read") or {}
    lat = kind.get("latency_ms", {})
    rate = s["bookings_per_s"] if "hold" in s["kinds"] else s["successes_per_s"]
    v = r.get("verification")
    return {"rate": rate, "p50": lat.get("p50"), "p99": lat.get("p99"), "5xx": s["server_errors"],
            "passed": r["passed"], "verified": None if v is None else v["passed"]}


def f(x, d=0):
    return "–" if x is None else f"{x:,.{d}f}"


def mb(kb):
    try:
        return f"{int(kb) / 1024:,.0f} MB"
    except (TypeError, ValueError):
        return "–"


FIGURES = [
    ("rush", "rush: bookings/s, one departure", "booking", 1.10),
    ("spread", f"spread: bookings/s, 50 departures", "booking", 1.10),
    ("availability", "availability for a month (30 departures): reads/s", "read", 2.0),
    ("manifest", f"manifest of {os.environ['MANIFEST_BOOKINGS']} bookings: reads/s", "read", 2.0),
    ("revenue", "revenue report for a year: reads/s", "read", 2.0),
    ("search", "booking search, newest page of 50: reads/s", "read", 2.0),
    ("search-text", "booking search by text (q=garcia): reads/s", "read", 2.0),
]

lines = [
    "# berth: how cost grows with the data",
    "",
    f"Written by `BENCH_HISTORY=1 load-tests/bench.sh` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} "
    f"at commit {os.environ['COMMIT']} on {os.environ['MACHINE']}: {os.environ['CORES']} cores, "
    f"{os.environ['SECS']} s per run, concurrency {os.environ['CONC']}, berth in the release profile "
    f"({os.environ['PROFILE']} build), MariaDB {os.environ['MYSQL_VERSION']} (the local server, "
    f"innodb_buffer_pool_size {os.environ['MYSQL_POOL_MB']} MB, fresh database), SQLite in a temp file. "
    "berth, the load tool and the database share the machine.",
    "",
    f"**History loaded:** {int(os.environ['H_TOURS']):,} tours × {int(os.environ['H_DAYS']):,} days of daily "
    f"departures, {int(os.environ['H_BOOKINGS']):,} bookings (`BENCH_HISTORY_TOURS`, `BENCH_HISTORY_DAYS`, "
    "`BENCH_HISTORY_BOOKINGS`), with their items, payments, refunds, ledger, outbox and audit rows, written by "
    "`berth-history` in bulk into the database berth serves, for the operator the benchmark uses. Each "
    "figure is measured first on the empty database, then again on the same berth after the load. "
    "Every run makes fixtures of its own (a new tour and departures), so the empty and the history "
    "figure read the same shape of data; what differs is the size of the tables around it.",
    "",
    "The ratio is empty ÷ history (how many times the figure got costlier; 1.00 = no change). "
    "Targets (issue 18): the booking path within 10 % of empty (≤ 1.10), reads within 2× (≤ 2.00). "
    "Latency is per request, measured by the client, p50 / p99 in ms. Every run is verified "
    "(reads: every answer 200 and what it must list; bookings: the manifests against what berth answered).",
    "",
]

for b in backends:
    hist = load(f"{b}-history") or {}
    lines += [f"## {b}", ""]
    if hist:
        lines.append(
            f"Loaded {hist.get('bookings', 0):,} bookings on {hist.get('departures', 0):,} departures "
            f"({hist.get('rows', 0):,} rows) in {hist.get('seconds', 0):,.0f} s "
            f"({hist.get('rows_per_s', 0):,.0f} rows/s). `berth check` afterwards: "
            f"**{text(f'{b}-check.status', 'not run')}**."
        )
        sizes = text(f"{b}-sizes.txt")
        if sizes and b == "sqlite":
            lines.append(f"Database file: {sizes} MB.")
        elif sizes:
            lines.append("Largest tables (rows estimated, MB with indexes): " + "; ".join(
                " ".join(row.split("\t")[:1]) + f" {int(row.split(chr(9))[1]):,} rows, {row.split(chr(9))[2]} MB"
                for row in sizes.splitlines() if row.count("\t") == 2) + ".")
        lines.append("")
    lines += [
        "| figure | empty | p50 / p99 | history | p50 / p99 | ratio | target | 5xx | verified |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for key, label, kind, goal in FIGURES:
        e, h = run(f"{b}-empty-{key}"), run(f"{b}-history-{key}")
        if e is None and h is None:
            continue
        ratio = e["rate"] / h["rate"] if e and h and h["rate"] else None
        verdict = "–" if ratio is None else ("met" if ratio <= goal else "MISSED")
        fivexx = sum(r["5xx"] for r in (e, h) if r)
        verified = all(r["passed"] for r in (e, h) if r)
        lines.append(
            f"| {label} | {f(e and e['rate'])} | {f(e and e['p50'], 2)} / {f(e and e['p99'], 2)} | "
            f"{f(h and h['rate'])} | {f(h and h['p50'], 2)} / {f(h and h['p99'], 2)} | {f(ratio, 2)} | "
            f"≤ {goal:.2f}: **{verdict}** | {fivexx} | {'yes' if verified else 'NO'} |")
    lines += [
        "",
        "berth's memory (VmRSS of the berth process): "
        f"idle on the empty database {mb(text(f'{b}-empty-idle.rss'))}, at most {mb(text(f'{b}-empty-rush.rss'))} under rush; "
        f"idle after the history load {mb(text(f'{b}-history-idle.rss'))}, at most {mb(text(f'{b}-history-rush.rss'))} under rush.",
        "",
        f"### Query plans on {b}, after the history load",
        "",
        ("`EXPLAIN QUERY PLAN`" if b == "sqlite" else "`EXPLAIN`") +
        " of berth's statements (src/storage/) with literals from the run: the history rush's "
        "departure, a history tour's month, the benchmark operator, the last year.",
        "",
        text(f"{b}-explain.md", "(not run)"),
        "",
    ]

marker = "<!-- analysis: written by hand, kept by bench.sh -->"
analysis = marker + "\n## Analysis\n\n(none yet)\n"
try:
    with open(out) as fh:
        old = fh.read()
    if marker in old:
        analysis = old[old.index(marker):]
except OSError:
    pass
table = "\n".join(lines)
print(table)
with open(out, "w") as fh:
    fh.write(table + "\n" + analysis)
print(f"wrote {out}")
