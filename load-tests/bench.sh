#!/usr/bin/env bash
# The berth benchmark: on this machine, in one run, berth `rush` and `spread` on SQLite and on the
# local MariaDB, next to two database floors driven without berth (a hold's write transaction
# straight through sqlx, `berth-floor --mode raw`; and the same SQL from sysbench's C client,
# load-tests/sysbench/hold.lua, MariaDB only), the service floor (berth's service layer in a loop,
# no HTTP) and the HTTP ceiling (the same load tool against GET /health), and the traveler's tour
# page rendered under the same load (its month calendar of 30 departures). Prints the ratio table
# and writes load-tests/RESULTS.md, stamped with the commit, the date and the machine; the
# "Analysis" section of an existing RESULTS.md is kept.
#
# Knobs (environment): BENCH_SECONDS (per run, default 15), BENCH_CONCURRENCY (default 32),
# BENCH_MYSQL_URL (default BERTH_TEST_MYSQL_URL, else mysql://root@127.0.0.1:3306; a fresh
# database is created and dropped), BENCH_BACKENDS (default "sqlite mysql").
# BENCH_SMOKE=1 checks that the benchmark still builds and runs, measuring nothing: the debug
# build, 1 s per run, concurrency 4, its table written to a temp file, RESULTS.md untouched
# (.ci/run does this).
# BENCH_HISTORY=1 measures how cost grows with the data instead (issue 18), per backend: rush,
# spread and four read paths (a tour's availability for a month, a manifest of 500 bookings, the
# revenue report for a year, the operator's booking search) on an empty database, then again
# after `berth-history` loaded a large history in bulk into the same database (default 50 tours
# with two years of daily departures, 2,000,000 bookings with their items, payments, refunds,
# ledger, outbox and audit rows; BENCH_HISTORY_TOURS, BENCH_HISTORY_DAYS, BENCH_HISTORY_BOOKINGS),
# with `berth check` after the load, berth's RSS idle and under rush, and the query plans of the
# hot statements (EXPLAIN QUERY PLAN / EXPLAIN). It writes load-tests/HISTORY.md (RESULTS.md is
# untouched). BENCH_SMOKE=1 also runs it, at a tiny size (300 bookings), into a temp file.
# Every run is bounded by its duration; all traffic goes to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../.ci/mariadb.sh
source .ci/mariadb.sh

SMOKE="${BENCH_SMOKE:-}"
HISTORY="${BENCH_HISTORY:-}"
SECS="${BENCH_SECONDS:-15}"
CONC="${BENCH_CONCURRENCY:-32}"
MYSQL_BASE="${BENCH_MYSQL_URL:-${BERTH_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}}"
MYSQL_BASE="${MYSQL_BASE%/}"
BACKENDS="${BENCH_BACKENDS:-sqlite mysql}"
OUT=load-tests/RESULTS.md
PROFILE=release
if [ "$SMOKE" = 1 ]; then
  SECS=1 CONC=4 PROFILE=debug
fi
SPREAD_DEPARTURES=50
PAGE_DEPARTURES=30
# Room for every hold of a run (1 seat each): the rush stays contended for its whole duration
# instead of selling out in the first second and measuring sold-out answers.
CAPACITY=100000

echo "== building ($PROFILE)"
if [ "$PROFILE" = release ]; then
  cargo build --locked --release -p berth -p berth-load --features berth-load/floor
else
  # The build `cargo test --workspace --all-features` makes (berth-floor included): the same
  # features, dev-dependencies and all, so after the tests nothing is compiled twice.
  cargo test --workspace --all-features --locked --no-run
fi
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE"
# The commit measured, "+dirty" when the tree had changes.
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -z "$(git status --porcelain 2>/dev/null)" ] || COMMIT="$COMMIT+dirty"

WORK="$(mktemp -d /tmp/berth-bench.XXXXXX)"
if [ "$SMOKE" = 1 ]; then OUT="$WORK/RESULTS.md"; fi
BERTH_PID=""
STAMP="$(date -u +%Y%m%d%H%M%S)"

mysql_exec() { mariadb_exec "$MYSQL_BASE" "$1" "${@:2}"; }

cleanup() {
  if [ -n "$BERTH_PID" ]; then kill "$BERTH_PID" 2>/dev/null || true; wait "$BERTH_PID" 2>/dev/null || true; fi
  # fresh_db runs in a command substitution (a subshell), so it cannot record what it made:
  # drop every database of this run by its name prefix instead.
  if [ -n "${MYSQL_BASE:-}" ]; then
    for db in $(mysql_exec "SHOW DATABASES LIKE 'berth\\_bench\\_${STAMP}\\_%'" -N 2>/dev/null); do
      mysql_exec "DROP DATABASE IF EXISTS \`$db\`" || true
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# database_url for a fresh database named $2 on backend $1
fresh_db() {
  if [ "$1" = sqlite ]; then
    echo "sqlite://$WORK/$2.db"
  else
    local name="berth_bench_${STAMP}_$2"
    mysql_exec "CREATE DATABASE \`$name\`"
    echo "$MYSQL_BASE/$name"
  fi
}

# start_berth URL [NAME=VALUE...]: berth (release profile) on a free port, with any extra settings;
# sets BASE and TOKEN
start_berth() {
  local url="$1" port setting
  shift
  port="$(free_port)"
  export BERTH_DATABASE_URL="$url" ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 \
    ROCKET_PORT="$port" BERTH_DEMO=false BERTH_LOG=warn \
    BERTH_PUBLIC_URL="http://127.0.0.1:$port" BERTH_RATE_LIMITS=off BERTH_HOLD_LIMITS=off \
    BERTH_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    BERTH_ALLOW_SQLITE_IN_RELEASE=true
  for setting in "$@"; do export "${setting?}"; done
  TOKEN="$("$BIN/berth" operator create --name "bench" --email bench@example.com | tail -n 1)"
  "$BIN/berth" serve >"$WORK/berth-$port.log" 2>&1 &
  BERTH_PID=$!
  BASE="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do
    if curl -fs "$BASE/ready" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "berth did not become ready:"; cat "$WORK/berth-$port.log"; exit 1
}

stop_berth() {
  kill "$BERTH_PID" 2>/dev/null || true
  wait "$BERTH_PID" 2>/dev/null || true
  BERTH_PID=""
  unset BERTH_DATABASE_URL ROCKET_PROFILE ROCKET_ADDRESS ROCKET_PORT BERTH_DEMO BERTH_LOG BERTH_PUBLIC_URL BERTH_RATE_LIMITS BERTH_HOLD_LIMITS \
    BERTH_SECRET_KEY BERTH_ALLOW_SQLITE_IN_RELEASE BERTH_HOLD_BATCH
}

# load NAME SCENARIO ARGS...: berth-load, result in $WORK/NAME.json; a failed run is recorded,
# not fatal (its verification and 5xx count go into the table)
load() {
  local name="$1"; shift
  echo "== $name"
  # A long timeout: the verification reads the rush departure's manifest, every booking of the
  # run (over 50,000 when holds are batched), in one response.
  "$BIN/berth-load" --target "$BASE" --token "$TOKEN" "$@" --timeout 120s \
    --concurrency "$CONC" --duration "${SECS}s" --requests 10000000 --quiet \
    --json "$WORK/$name.json" | grep -E '^(rush|spread|ceiling|successful|hold |ceiling |status|errors|  PASSED|  FAILED|RESULT)' || true
}

# floor NAME BACKEND ARGS...: berth-floor (--mode raw unless ARGS say --mode service)
floor() {
  local name="$1" backend="$2"; shift 2
  echo "== $name"
  "$BIN/berth-floor" --database-url "$(fresh_db "$backend" "$name")" --concurrency "$CONC" \
    --seconds "$SECS" --capacity "$CAPACITY" --max-quantity 1 --json "$WORK/$name.json" "$@"
}

# sysbench_floor NAME DEPARTURES: load-tests/sysbench/hold.lua from sysbench's C client on fresh
# fixtures (made by berth-floor); its rate, latency and a check that seats_taken equals the
# bookings written go to $WORK/NAME.json
sysbench_floor() {
  local name="$1" departures="$2" url
  echo "== $name"
  command -v sysbench >/dev/null || { echo "sysbench is not installed: apt-get install -y sysbench"; exit 1; }
  url="$(fresh_db mysql "$name")"
  "$BIN/berth-floor" --database-url "$url" --departures "$departures" --capacity "$CAPACITY" \
    --fixtures-only "$WORK/$name-fixtures.json"
  python3 - "$url" "$WORK/$name-fixtures.json" "$CONC" "$SECS" >"$WORK/$name-args" <<'PY'
import json, sys, urllib.parse
url, ids = urllib.parse.urlparse(sys.argv[1]), json.load(open(sys.argv[2]))
args = ["--db-driver=mysql", f"--mysql-host={url.hostname or '127.0.0.1'}", f"--mysql-port={url.port or 3306}",
        f"--mysql-user={urllib.parse.unquote(url.username or 'root')}", f"--mysql-db={url.path.lstrip('/')}",
        f"--threads={sys.argv[3]}", f"--time={sys.argv[4]}", "--percentile=99",
        f"--departures={','.join(ids['departures'])}", f"--tour={ids['tour']}", f"--operator={ids['operator']}"]
if url.password:
    args.append(f"--mysql-password={urllib.parse.unquote(url.password)}")
print("\n".join(args))
PY
  mapfile -t sb_args <"$WORK/$name-args"
  sysbench load-tests/sysbench/hold.lua "${sb_args[@]}" run >"$WORK/$name.txt"
  local db="${url##*/}" counts
  counts="$(mysql_exec "SELECT (SELECT SUM(seats_taken) FROM \`$db\`.departures), (SELECT COUNT(*) FROM \`$db\`.bookings)" -N)"
  python3 - "$WORK/$name.txt" "$counts" >"$WORK/$name.json" <<'PY'
import json, re, sys
text, (seats, bookings) = open(sys.argv[1]).read(), sys.argv[2].split()
def grab(pattern):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None
print(json.dumps({"bookings_per_s": grab(r"transactions:\s+\d+\s+\(([\d.]+) per sec"),
                  "latency_ms": {"p50": None, "avg": grab(r"avg:\s+([\d.]+)"), "p99": grab(r"99th percentile:\s+([\d.]+)")},
                  "outcomes": {"held": int(bookings)}, "verified": int(seats) == int(bookings)}))
PY
  grep -E "transactions:|99th percentile" "$WORK/$name.txt" || true
}

if [ "$HISTORY" != 1 ]; then
for backend in $BACKENDS; do
  start_berth "$(fresh_db "$backend" berth)"
  load "$backend-rush" rush --capacity "$CAPACITY" --max-quantity 1
  load "$backend-spread" spread --departures "$SPREAD_DEPARTURES" --capacity "$CAPACITY" --max-quantity 1
  load "$backend-ceiling" ceiling --path /health
  # The tour page (issue 14): a fixture tour of its own with one departure a day for a month, its
  # page (calendar included) fetched by the same closed-loop clients as the ceiling.
  "$BIN/berth-load" --target "$BASE" --token "$TOKEN" setup --label page --departures "$PAGE_DEPARTURES" \
    --spacing-minutes 1440 --capacity 10 --out "$WORK/$backend-page-fixtures.json" >/dev/null
  tour_id="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["tour_id"])' "$WORK/$backend-page-fixtures.json")"
  curl -fsS -o /dev/null "$BASE/tours/$tour_id" || { echo "the tour page did not answer 200"; exit 1; }
  load "$backend-tour-page" ceiling --path "/tours/$tour_id"
  stop_berth
  # The rush again with every hold in a transaction of its own: what batching adds, same run.
  start_berth "$(fresh_db "$backend" unbatched)" BERTH_HOLD_BATCH=1
  load "$backend-rush-unbatched" rush --capacity "$CAPACITY" --max-quantity 1
  stop_berth
  floor "$backend-floor-rush" "$backend" --departures 1
  floor "$backend-floor-spread" "$backend" --departures "$SPREAD_DEPARTURES"
  floor "$backend-service-rush" "$backend" --mode service --departures 1
  floor "$backend-service-spread" "$backend" --mode service --departures "$SPREAD_DEPARTURES"
  if [ "$backend" = mysql ]; then
    # The raw floor again with the seats taken last, as berth's holds take them on MySQL.
    floor "$backend-floor-last-rush" "$backend" --hot-row-last --departures 1
    floor "$backend-floor-last-spread" "$backend" --hot-row-last --departures "$SPREAD_DEPARTURES"
    sysbench_floor "$backend-sysbench-rush" 1
    sysbench_floor "$backend-sysbench-spread" "$SPREAD_DEPARTURES"
  fi
done

CORES="$(nproc)" SECS="$SECS" CONC="$CONC" BACKENDS="$BACKENDS" WORK="$WORK" PAGE_DEPARTURES="$PAGE_DEPARTURES" \
  COMMIT="$COMMIT" PROFILE="$PROFILE" \
  MACHINE="$(uname -srm); $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//'); $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo 2>/dev/null)" \
  MYSQL_VERSION="$(mysql_exec 'SELECT VERSION()' 2>/dev/null | tail -n 1 || echo unknown)" \
  python3 - "$OUT" <<'PY'
import json, os, sys, datetime

work, out = os.environ["WORK"], sys.argv[1]
def load(name):
    try:
        with open(os.path.join(work, name + ".json")) as f:
            return json.load(f)
    except OSError:
        return None

def tool(name):
    r = load(name)
    if r is None:
        return None
    s = r["summary"]
    kind = s["kinds"].get("hold") or s["kinds"].get("ceiling") or {}
    lat = kind.get("latency_ms", {})
    ok = s["bookings_per_s"] if "hold" in s["kinds"] else s["successes_per_s"]
    v = r.get("verification")
    return {"rate": ok, "p50": lat.get("p50"), "p99": lat.get("p99"), "5xx": s["server_errors"],
            "verified": None if v is None else v["passed"], "passed": r["passed"]}

def floor(name):
    r = load(name)
    if r is None or r.get("bookings_per_s") is None:
        return None
    return {"rate": r["bookings_per_s"], "p50": r["latency_ms"].get("p50"), "p99": r["latency_ms"].get("p99"),
            "outcomes": r["outcomes"], "verified": r.get("verified")}

def f(x, d=0):
    return "–" if x is None else f"{x:,.{d}f}"

def ratio(a, c):
    return None if not a or not c or not c["rate"] else a["rate"] / c["rate"]

rows, floor_rows, targets = [], [], []
results = {}
for b in os.environ["BACKENDS"].split():
    ceil = tool(f"{b}-ceiling")
    for label in ("rush", "spread"):
        run = tool(f"{b}-{label}")
        raw, sb, svc = floor(f"{b}-floor-{label}"), floor(f"{b}-sysbench-{label}"), floor(f"{b}-service-{label}")
        last = floor(f"{b}-floor-last-{label}")
        results[(b, label)] = (run, raw)
        if run is None:
            continue
        rr, rs, rv, rc = ratio(run, raw), ratio(run, sb), ratio(run, svc), ratio(run, ceil)
        rows.append(f"| {b} | {label} | {f(run['rate'])} | {f(run['p50'],2)} / {f(run['p99'],2)} | "
                    f"{f(rr, 2)} | {f(rs, 2)} | {f(rv, 2)} | {f(rc and rc*100)} % | {run['5xx']} | "
                    f"{'yes' if run['verified'] else 'NO'} |")
        for what, fl in (("raw (sqlx, no berth)", raw), ("raw, seats taken last", last),
                         ("sysbench (C client, no berth)", sb), ("service, no HTTP", svc)):
            if fl:
                check = fl["outcomes"] if fl.get("verified") is None else (
                    f"{fl['outcomes']}, seats = bookings: {'yes' if fl['verified'] else 'NO'}")
                floor_rows.append(f"| {b} | {label} | {what} | {f(fl['rate'])} | "
                                  f"{f(fl['p50'],2)} / {f(fl['p99'],2)} | {check} |")
    un, raw = tool(f"{b}-rush-unbatched"), floor(f"{b}-floor-rush")
    if un:
        rows.append(f"| {b} | rush, one hold per commit (`BERTH_HOLD_BATCH=1`) | {f(un['rate'])} | "
                    f"{f(un['p50'],2)} / {f(un['p99'],2)} | {f(ratio(un, raw), 2)} | "
                    f"{f(ratio(un, floor(f'{b}-sysbench-rush')), 2)} | {f(ratio(un, floor(f'{b}-service-rush')), 2)} | "
                    f"{f(ratio(un, ceil) and ratio(un, ceil)*100)} % | {un['5xx']} | {'yes' if un['verified'] else 'NO'} |")
    if ceil:
        rows.append(f"| {b} | ceiling (GET /health) | {f(ceil['rate'])} | {f(ceil['p50'],2)} / {f(ceil['p99'],2)} | | | | | {ceil['5xx']} | |")

def target(name, value, goal, unit="×"):
    targets.append((name, value, goal, unit))
mrush, mraw = results.get(("mysql", "rush"), (None, None))
mspread, mspraw = results.get(("mysql", "spread"), (None, None))
srush = results.get(("sqlite", "rush"), (None, None))[0]
target("Hot departure (MySQL rush) ≥ 1.0 × the raw floor (stretch 2 ×)", ratio(mrush, mraw), 1.0)
target("Spread over departures (MySQL) ≥ 0.6 × the raw floor", ratio(mspread, mspraw), 0.6)
target("SQLite rush ≥ MariaDB rush", ratio(srush, mrush), 1.0)
worst_p99 = max((r["p99"] for r in (mrush, srush) if r and r["p99"] is not None), default=None)
targets.append(("p99 under rush ≤ 100 ms (the worse backend)", worst_p99, 100.0, "ms"))

page_rows = []
for b in os.environ["BACKENDS"].split():
    page, ceil = tool(f"{b}-tour-page"), tool(f"{b}-ceiling")
    if page:
        share = None if not ceil or not ceil["rate"] else page["rate"] / ceil["rate"]
        page_rows.append(f"| {b} | {f(page['rate'])} | {f(page['p50'],2)} / {f(page['p99'],2)} | "
                         f"{f(share and share*100)} % | {page['5xx']} |")

fivexx = sum((tool(f"{b}-{s}") or {}).get("5xx", 0) for b in os.environ["BACKENDS"].split() for s in ("rush", "spread"))
lines = [
    "# berth benchmark results",
    "",
    f"Written by `load-tests/bench.sh` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} "
    f"at commit {os.environ['COMMIT']} on {os.environ['MACHINE']}: "
    f"{os.environ['CORES']} cores, {os.environ['SECS']} s per run, concurrency {os.environ['CONC']}, "
    f"berth in the release profile ({os.environ['PROFILE']} build) with its default pool (16 connections), MariaDB {os.environ['MYSQL_VERSION']} "
    "(the local server, fresh database), SQLite in a temp file. berth, the load tool and the database share the machine.",
    "",
    "Throughput is successful bookings (201 holds of 1 seat) per second; the ceiling counts 200s. "
    "Latency is per hold request, p50 / p99 in ms, measured by the client. `rush` is one departure "
    f"(capacity {100000:,}, so it stays contended for the whole run); `spread` is 50 departures. "
    "The ratios divide berth's rate by each floor's, measured in this run:",
    "",
    "- **raw**: `berth-floor --mode raw`, the database floor: the single-transaction hold (`BEGIN`, the "
    "guarded `UPDATE departures`, `INSERT` booking, `INSERT` item, `COMMIT`) straight through sqlx, one "
    "connection per client, no berth code. The reads berth makes before its transaction are not in it. "
    "The floors table also shows it with the seats taken last (`--hot-row-last`, MariaDB), the order "
    "berth's holds use there.",
    "- **sysbench**: the same statements from sysbench's C client (`load-tests/sysbench/hold.lua`), "
    "a second floor independent of Rust and sqlx (MariaDB only; sysbench has no SQLite driver).",
    "- **service**: `berth-floor --mode service`, `berth::service::holds::place_hold` in a loop on "
    "berth's pool: berth without HTTP; the ratio to it is HTTP's share.",
    "",
    "berth batches the holds of a departure that arrive together into one transaction "
    "(`BERTH_HOLD_BATCH`, default 32; README, \"The seat invariant\"); the row \"one hold per commit\" "
    "is the same rush with batching off, for comparison. The floors commit one hold per transaction.",
    "",
    "| backend | scenario | per s | p50 / p99 ms | ÷ raw | ÷ sysbench | ÷ service | ÷ ceiling | 5xx | verified |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    *rows,
    "",
    "### The floors",
    "",
    "| backend | scenario | floor | per s | p50 / p99 ms | outcomes |",
    "|---|---|---|---:|---:|---|",
    *floor_rows,
    "",
    "## Tour page render (issue 14)",
    "",
    "`GET /tours/{id}`: the traveler's tour page, server-rendered with its month calendar (one query "
    f"for the month) over a tour with one departure a day for {os.environ['PAGE_DEPARTURES']} days, fetched by {os.environ['CONC']} "
    "concurrent clients in a closed loop, each waiting for its page before asking again. Latency is "
    "the whole response, measured by the client; the ceiling is the same tool against GET /health.",
    "",
    "| backend | pages per s | p50 / p99 ms | ÷ ceiling | 5xx |",
    "|---|---:|---:|---:|---:|",
    *page_rows,
    "",
    "## Targets (issue 18, ratios from this run)",
    "",
]
for name, value, goal, unit in targets:
    if unit == "ms":
        verdict = "–" if value is None else ("met" if value <= goal else "MISSED")
        lines.append(f"- {name}: {f(value, 2)} ms → **{verdict}**")
    else:
        verdict = "–" if value is None else ("met" if value >= goal else "MISSED")
        lines.append(f"- {name}: {f(value, 2)} × → **{verdict}**")
lines.append(f"- zero 5xx in rush and spread: {fivexx} → **{'met' if fivexx == 0 else 'MISSED'}**")
lines.append("")
table = "\n".join(lines)
print(table)

marker = "<!-- analysis: written by hand, kept by bench.sh -->"
analysis = marker + "\n## Analysis\n\n(none yet)\n"
try:
    with open(out) as f:
        old = f.read()
    if marker in old:
        analysis = old[old.index(marker):]
except OSError:
    pass
with open(out, "w") as f:
    f.write(table + "\n" + analysis)
print(f"wrote {out}")
PY

fi

if [ "$SMOKE" = 1 ] && [ "$HISTORY" != 1 ]; then
  for backend in $BACKENDS; do
    runs="rush spread ceiling tour-page rush-unbatched floor-rush floor-spread service-rush service-spread"
    [ "$backend" = mysql ] && runs="$runs floor-last-rush floor-last-spread sysbench-rush sysbench-spread"
    for run in $runs; do
      [ -s "$WORK/$backend-$run.json" ] || { echo "bench smoke: $backend-$run wrote no result"; exit 1; }
    done
    if [ "$backend" = mysql ]; then
      for run in sysbench-rush sysbench-spread; do
        grep -q '"verified": true' "$WORK/$backend-$run.json" \
          || { echo "bench smoke: $backend-$run: seats_taken differs from the bookings written"; exit 1; }
      done
    fi
  done
  echo "== bench smoke passed: every run of every backend wrote its result"
fi

# ---- How cost grows with the data (BENCH_HISTORY=1; the smoke runs it at a tiny size) ----------

# berth's resident memory in kB (VmRSS)
berth_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$BERTH_PID/status" 2>/dev/null || echo 0; }

# sampled_load NAME ARGS...: `load`, with berth's peak RSS during the run in $WORK/NAME.rss
sampled_load() {
  local name="$1" sampler
  ( peak=0; while kill -0 "$BERTH_PID" 2>/dev/null; do
      now="$(berth_rss)"; [ "${now:-0}" -gt "$peak" ] && peak="$now" && echo "$peak" >"$WORK/$name.rss"
      sleep 0.25
    done ) &
  sampler=$!
  load "$@"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
}

# history_phase PHASE: rush, spread and the read paths against the running berth, results in
# $WORK/$backend-PHASE-*.json
history_phase() {
  local p="$backend-$1"
  berth_rss >"$WORK/$p-idle.rss"
  sampled_load "$p-rush" rush --capacity "$CAPACITY" --max-quantity 1
  load "$p-spread" spread --departures "$SPREAD_DEPARTURES" --capacity "$CAPACITY" --max-quantity 1
  load "$p-availability" availability --departures 30
  load "$p-manifest" manifest --bookings "$MANIFEST_BOOKINGS" --max-quantity 1
  load "$p-revenue" revenue
  load "$p-search" search
  load "$p-search-text" search --query "q=garcia"
}

# explain_all: the query plans of the hot statements, after the history load, into
# $WORK/$backend-explain.md. The statements are berth's (src/storage/), with literals from the
# runs: the history rush's departure and tour, the bench operator.
explain_all() {
  local url="$1" out="$WORK/$backend-explain.md" ids
  ids="$(python3 - "$WORK/$backend-history-rush.json" "$WORK/$backend-history.json" <<'PY'
import json, sys
rush, hist = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(rush["fixtures"]["departures"][0]["id"], rush["fixtures"]["tour_id"], hist["operator"], hist["tours"][0])
PY
)"
  read -r dep tour op htour <<<"$ids"
  local now="2026-01-01 00:00:00" from="2025-01-01 00:00:00" to="2026-01-02 00:00:00"
  now="$(date -u '+%Y-%m-%d %H:%M:%S')"
  from="$(date -u -d '365 days ago' '+%Y-%m-%d 00:00:00')"
  to="$(date -u -d 'tomorrow' '+%Y-%m-%d 00:00:00')"
  local month_from month_to
  month_from="$(date -u -d '30 days' '+%Y-%m-%d 00:00:00')"
  month_to="$(date -u -d '61 days' '+%Y-%m-%d 00:00:00')"
  local cols="o.id, o.tour_id, o.schedule_id, o.starts_at, o.capacity, o.seats_taken, o.status, o.min_participants, o.decision_hours, o.guaranteed_at, o.unit_prices, CAST(COALESCE((SELECT SUM(b.seats) FROM bookings b WHERE b.departure_id = o.id AND b.status = 'held' AND b.expires_at <= '$now'), 0) AS SIGNED) AS seats_expired"
  local bcols="b.id, b.reference, b.access_token_hash, b.departure_id, b.tour_id, b.operator_id, b.status, b.seats, b.total, b.currency, b.customer_name, b.customer_email, b.customer_phone, b.customer_language, b.expires_at, b.cancel_reason, b.created_at, b.updated_at, b.discount, b.promo_code"
  local live="b.departure_id = '$dep' AND (b.status IN ('confirmed', 'checked_in') OR (b.status = 'held' AND b.expires_at > '$now'))"
  local lock=" FOR UPDATE"
  [ "$backend" = sqlite ] && lock=""
  # name|statement (storage function in the name)
  cat >"$WORK/$backend-explain.sql" <<SQL
hold: the departure read (departures::get)|SELECT $cols FROM departures o WHERE o.id = '$dep'
hold: the locked read (departures::lock)|SELECT o.id, o.seats_taken, o.capacity FROM departures o WHERE o.id = '$dep'$lock
hold: the guarded UPDATE (departures::take_seats_if_free)|UPDATE departures SET seats_taken = seats_taken + 1, updated_at = '$now' WHERE id = '$dep' AND status = 'scheduled' AND starts_at > '$now' AND seats_taken + 1 <= capacity AND NOT EXISTS (SELECT 1 FROM resource_assignments a JOIN resources r ON r.id = a.resource_id WHERE a.tour_id = departures.tour_id AND r.draw = 'seats') AND NOT EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.departure_id = departures.id AND w.status = 'waiting')
hold: the booking insert (bookings::insert)|INSERT INTO bookings (id, reference, access_token_hash, departure_id, tour_id, operator_id, status, seats, total, currency, customer_name, customer_email, customer_phone, customer_language, expires_at, created_at, updated_at, hold_client, hold_email, discount, promo_code) VALUES ('01ZZZZZZZZZZZZZZZZZZZZZZZZ', 'ZZZZZZZZ', 'explain', '$dep', '$tour', '$op', 'held', 1, 3500, 'EUR', 'E', 'e@example.com', NULL, 'en', '$now', '$now', '$now', NULL, NULL, 0, NULL)
availability: a month of a history tour (departures::list_for_tour)|SELECT $cols FROM departures o WHERE o.tour_id = '$htour' AND o.starts_at >= '$month_from' AND o.starts_at < '$month_to' ORDER BY o.starts_at, o.id LIMIT 5000
manifest: the bookings (bookings::manifest)|SELECT $bcols FROM bookings b WHERE $live ORDER BY b.created_at, b.id
manifest: the items (bookings::manifest)|SELECT i.booking_id, i.unit_code, i.quantity, i.unit_price FROM booking_items i JOIN bookings b ON b.id = i.booking_id WHERE $live ORDER BY i.booking_id, i.unit_code
revenue: totals (ledger)|SELECT currency, kind, CAST(COALESCE(SUM(amount), 0) AS SIGNED), COUNT(*), CAST(COALESCE(SUM(discount), 0) AS SIGNED) FROM ledger_entries WHERE operator_id = '$op' AND created_at >= '$from' AND created_at < '$to' GROUP BY currency, kind ORDER BY currency, kind
revenue: per tour (ledger)|SELECT b.tour_id, l.currency, l.kind, CAST(COALESCE(SUM(l.amount), 0) AS SIGNED) FROM ledger_entries l JOIN bookings b ON b.id = l.booking_id WHERE l.operator_id = '$op' AND l.created_at >= '$from' AND l.created_at < '$to' GROUP BY b.tour_id, l.currency, l.kind ORDER BY b.tour_id, l.currency, l.kind
search: the newest page (bookings::search)|SELECT $bcols, d.starts_at AS departure_starts_at, t.timezone AS tour_timezone FROM bookings b JOIN departures d ON d.id = b.departure_id JOIN tours t ON t.id = b.tour_id WHERE b.operator_id = '$op' ORDER BY b.created_at DESC, b.id DESC LIMIT 51
search: by text (bookings::search, q=garcia)|SELECT $bcols, d.starts_at AS departure_starts_at, t.timezone AS tour_timezone FROM bookings b JOIN departures d ON d.id = b.departure_id JOIN tours t ON t.id = b.tour_id WHERE b.operator_id = '$op' AND (LOWER(b.customer_name) LIKE '%garcia%' ESCAPE '!' OR LOWER(b.customer_email) LIKE '%garcia%' ESCAPE '!' OR b.reference = 'GARCIA') ORDER BY b.created_at DESC, b.id DESC LIMIT 51
SQL
  : >"$out"
  local name sql
  while IFS='|' read -r name sql; do
    printf '**%s**\n\n```\n' "$name" >>"$out"
    if [ "$backend" = sqlite ]; then
      python3 - "${url#sqlite://}" "$sql" >>"$out" <<'PY' || echo "(EXPLAIN failed)" >>"$out"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute("EXPLAIN QUERY PLAN " + sys.argv[2]):
    print(f"{row[0]:>3} {row[1]:>3}  {row[3]}")
PY
    else
      mysql_exec "EXPLAIN $sql" --database="${url##*/}" --table >>"$out" 2>&1 || echo "(EXPLAIN failed)" >>"$out"
    fi
    printf '```\n\n' >>"$out"
  done <"$WORK/$backend-explain.sql"
}

if [ "$HISTORY" = 1 ] || [ "$SMOKE" = 1 ]; then
  H_TOURS="${BENCH_HISTORY_TOURS:-50}" H_DAYS="${BENCH_HISTORY_DAYS:-730}" H_BOOKINGS="${BENCH_HISTORY_BOOKINGS:-2000000}"
  MANIFEST_BOOKINGS=500
  HOUT=load-tests/HISTORY.md
  if [ "$SMOKE" = 1 ]; then
    H_TOURS=2 H_DAYS=20 H_BOOKINGS=300 MANIFEST_BOOKINGS=20 HOUT="$WORK/HISTORY.md"
  fi
  for backend in $BACKENDS; do
    url="$(fresh_db "$backend" history)"
    start_berth "$url"
    sleep 1
    history_phase empty
    echo "== $backend: loading the history ($H_BOOKINGS bookings, $H_TOURS tours x $H_DAYS days)"
    BENCH_HISTORY_TOURS="$H_TOURS" BENCH_HISTORY_DAYS="$H_DAYS" BENCH_HISTORY_BOOKINGS="$H_BOOKINGS" \
      "$BIN/berth-history" --database-url "$url" --operator-email bench@example.com \
      --out "$WORK/$backend-history.json" 2>"$WORK/$backend-history.log" >/dev/null \
      || { tail -20 "$WORK/$backend-history.log"; exit 1; }
    tail -1 "$WORK/$backend-history.log"
    echo "== $backend: berth check"
    if "$BIN/berth" check >"$WORK/$backend-check.txt" 2>&1; then echo passed >"$WORK/$backend-check.status"
    else echo failed >"$WORK/$backend-check.status"; tail -20 "$WORK/$backend-check.txt"; fi
    # The load went around berth; let it settle before measuring it idle again.
    sleep 2
    history_phase history
    explain_all "$url"
    if [ "$backend" = mysql ]; then
      mysql_exec "SELECT table_name, table_rows, ROUND((data_length + index_length) / 1048576) FROM information_schema.tables WHERE table_schema = '${url##*/}' AND table_rows > 1000 ORDER BY 3 DESC" -N >"$WORK/$backend-sizes.txt" || true
    else
      du -m "${url#sqlite://}" | cut -f1 >"$WORK/$backend-sizes.txt"
    fi
    stop_berth
  done
  CORES="$(nproc)" SECS="$SECS" CONC="$CONC" BACKENDS="$BACKENDS" WORK="$WORK" COMMIT="$COMMIT" PROFILE="$PROFILE" \
    H_TOURS="$H_TOURS" H_DAYS="$H_DAYS" H_BOOKINGS="$H_BOOKINGS" MANIFEST_BOOKINGS="$MANIFEST_BOOKINGS" \
    MACHINE="$(uname -srm); $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//'); $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo 2>/dev/null)" \
    MYSQL_VERSION="$(mysql_exec 'SELECT VERSION()' 2>/dev/null | tail -n 1 || echo unknown)" \
    MYSQL_POOL_MB="$(mysql_exec 'SELECT @@innodb_buffer_pool_size DIV 1048576' -N 2>/dev/null || echo unknown)" \
    python3 load-tests/history_report.py "$HOUT"
  if [ "$SMOKE" = 1 ]; then
    for backend in $BACKENDS; do
      for phase in empty history; do
        for run in rush spread availability manifest revenue search search-text; do
          grep -q '"passed": true' "$WORK/$backend-$phase-$run.json" 2>/dev/null \
            || { echo "bench smoke: history mode: $backend-$phase-$run did not pass"; exit 1; }
        done
      done
      grep -q passed "$WORK/$backend-check.status" || { echo "bench smoke: berth check failed after the history load"; exit 1; }
    done
    echo "== bench smoke passed: the history mode ran on every backend and berth check passed"
  fi
fi
