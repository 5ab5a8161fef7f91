#!/usr/bin/env bash
# Schema-driven fuzzing with schemathesis (a client nobody here wrote) against a real berth: the
# built binary on a fresh database, with every check schemathesis has except the two that
# tests/fuzz/README.md explains. Two passes over one database:
#   1. the API, as two operators (tenant isolation is checked by replaying one's reads as the other);
#   2. the webhooks, on a berth configured for Stripe and Twilio (elsewhere they answer 404).
#
#   tests/fuzz/run.sh [MAX_EXAMPLES]      (default 25; CI uses that, run longer locally with e.g. 500)
#
# Database: a fresh SQLite file; with BERTH_FUZZ_MYSQL_URL (a server URL without a database, e.g.
# mysql://root@127.0.0.1:3306) a fresh database on that server, dropped afterwards; with
# BERTH_FUZZ_MYSQL_URL=throwaway a throwaway mariadbd started for the run (.ci/mariadb.sh).
# Needs: the berth binary (`cargo build`; BERTH_BIN overrides the path) and `pip install schemathesis`.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../../.ci/mariadb.sh
source .ci/mariadb.sh
examples="${1:-25}"
target="${CARGO_TARGET_DIR:-target}"
bin="${BERTH_BIN:-$target/debug/berth}"
[ -x "$bin" ] || { echo "no berth binary at $bin: run cargo build first" >&2; exit 2; }
command -v st >/dev/null 2>&1 || pip install -q 'schemathesis==4.32.5'

work="$(mktemp -d)"
mysql_base=""
database=""
server=""
stop_berth() {
  [ -z "$server" ] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
  server=""
}
cleanup() {
  stop_berth
  [ -z "$database" ] || mariadb_exec "$mysql_base" "DROP DATABASE IF EXISTS \`$database\`" || true
  throwaway_mariadb_stop
  rm -rf "$work"
}
trap cleanup EXIT

database_url="sqlite://$work/berth.db"
if [ "${BERTH_FUZZ_MYSQL_URL:-}" = throwaway ]; then
  throwaway_mariadb_start "$work/mariadb"
  mysql_base="$THROWAWAY_MARIADB_URL"
elif [ -n "${BERTH_FUZZ_MYSQL_URL:-}" ]; then
  mysql_base="${BERTH_FUZZ_MYSQL_URL%/}"
fi
if [ -n "$mysql_base" ]; then
  database="berth_fuzz_$(date +%s)_$$"
  mariadb_exec "$mysql_base" "CREATE DATABASE \`$database\`"
  database_url="$mysql_base/$database"
fi
echo "fuzz: berth on ${database_url%%://*}"
export BERTH_DATABASE_URL="$database_url" BERTH_DEMO=false ROCKET_LOG_LEVEL=off
export ROCKET_PROFILE=debug BERTH_LOG=warn

# start_berth LOG: the binary on a free port (the environment configures it); sets base.
start_berth() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  ROCKET_PORT="$port" "$bin" >"$work/$1" 2>&1 &
  server=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do
    curl -fsS "$base/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "berth did not start:" >&2; tail -n 20 "$work/$1" >&2; exit 1
}

# The checks are chosen in schemathesis.toml: all but two, and one per operation (the README says why).
fuzz() {
  st --config-file tests/fuzz/schemathesis.toml run "$base/openapi.json" \
    --max-examples "$examples" --workers 2 --seed 20261123 --no-color "$@"
}

# Two operators; the first owns the tour, departure and booking the fuzzer is pointed at.
token="$("$bin" operator create --name "Fuzz Tours" --email fuzz@example.com | tail -n 1)"
rival="$("$bin" operator create --name "Rival Tours" --email rival@example.com | tail -n 1)"
# /metrics takes the first operator's token as its own, so one identity reaches every operation.
BERTH_METRICS_TOKEN="$token" start_berth server.log

# Real objects for the path parameters (see schemathesis.toml).
api() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
FUZZ_TOUR="$(api -X POST "$base/v1/tours" -d '{"name": "Fuzzed walk", "timezone": "Europe/Lisbon",
  "duration_minutes": 60, "currency": "EUR", "units": [{"code": "adult", "label": "Adult", "price": 2500}]}' | field id)"
starts="$(python3 -c 'import datetime as d; print((d.datetime.now(d.timezone.utc) + d.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))')"
FUZZ_DEPARTURE="$(api -X POST "$base/v1/tours/$FUZZ_TOUR/departures" -d "{\"starts_at\": \"$starts\", \"capacity\": 500}" | field id)"
FUZZ_BOOKING="$(api -X POST "$base/v1/bookings" -d "{\"departure_id\": \"$FUZZ_DEPARTURE\",
  \"items\": [{\"unit\": \"adult\", \"quantity\": 2}], \"customer\": {\"name\": \"Ada\", \"email\": \"ada@example.com\"}}" | field reference)"
export FUZZ_TOUR FUZZ_DEPARTURE FUZZ_BOOKING

# The identities, in Web Fuzzing Commons form: schemathesis replays each successful read by one
# as the other (object_level_authorization) and strips or spoils them (ignored_auth).
cat >"$work/auth.json" <<JSON
{"auth": [
  {"name": "owner", "fixedHeaders": [{"name": "Authorization", "value": "Bearer $token"}]},
  {"name": "rival", "fixedHeaders": [{"name": "Authorization", "value": "Bearer $rival"}]}
]}
JSON
export FUZZ_AUTH_FILE="$work/auth.json"

echo "fuzz: the API, as two operators"
# Revoking tokens is excluded: the fuzzer would revoke its own credentials half-way through.
fuzz --exclude-path '/v1/tokens/{id}' --exclude-path-regex '^/v1/webhooks/'
stop_berth

echo "fuzz: the webhooks, with Stripe and Twilio configured (their APIs unreachable: nothing here calls them)"
BERTH_PAYMENTS=stripe BERTH_STRIPE_SECRET_KEY="sk_test_fuzz$(date +%s%N)" \
  BERTH_STRIPE_WEBHOOK_SECRET="whsec_fuzz$(date +%s%N)" BERTH_STRIPE_API_BASE=http://127.0.0.1:9 \
  BERTH_SMS_TRANSPORT=twilio BERTH_TWILIO_ACCOUNT_SID=ACfuzz BERTH_TWILIO_AUTH_TOKEN="fuzz$(date +%s%N)" \
  BERTH_TWILIO_FROM=MGfuzz BERTH_TWILIO_API_BASE=http://127.0.0.1:9 start_berth webhooks.log
fuzz --include-path-regex '^/v1/webhooks/'
echo "fuzz: server log tails"; tail -n 5 "$work/server.log" "$work/webhooks.log" || true
