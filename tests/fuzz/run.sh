#!/usr/bin/env bash
# Schema-driven fuzzing with schemathesis (a client nobody here wrote) against a real berth:
# the built binary on a fresh SQLite file, with an operator token. It fails on any 5xx, any
# response that violates the OpenAPI document, and any undocumented status code or content type.
#
#   tests/fuzz/run.sh [MAX_EXAMPLES]      (default 25; CI uses that, run longer locally with e.g. 500)
#
# Needs: the berth binary (`cargo build`; BERTH_BIN overrides the path) and `pip install schemathesis`.
set -euo pipefail
cd "$(dirname "$0")/../.."
examples="${1:-25}"
target="${CARGO_TARGET_DIR:-target}"
bin="${BERTH_BIN:-$target/debug/berth}"
[ -x "$bin" ] || { echo "no berth binary at $bin: run cargo build first" >&2; exit 2; }
command -v st >/dev/null 2>&1 || pip install -q schemathesis

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# SQLite by default; with BERTH_FUZZ_MYSQL_URL (a server URL without a database, e.g.
# mysql://root@127.0.0.1:3306) a fresh database on that server instead.
database_url="sqlite://$work/berth.db"
mysql_exec() {
  python3 - "$BERTH_FUZZ_MYSQL_URL" "$1" <<'PYTHON'
import subprocess, sys, urllib.parse
url, statement = urllib.parse.urlparse(sys.argv[1]), sys.argv[2]
command = ["mariadb", "--no-defaults", "-h", url.hostname or "127.0.0.1", "-P", str(url.port or 3306), "-u", url.username or "root"]
if url.password:
    command.append("-p" + urllib.parse.unquote(url.password))
subprocess.run(command + ["-e", statement], check=True)
PYTHON
}
database=""
server=""
cleanup() {
  [ -z "$server" ] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; }
  [ -z "$database" ] || mysql_exec "DROP DATABASE IF EXISTS \`$database\`" || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${BERTH_FUZZ_MYSQL_URL:-}" ]; then
  database="berth_fuzz_$(date +%s)_$$"
  mysql_exec "CREATE DATABASE \`$database\`"
  database_url="${BERTH_FUZZ_MYSQL_URL%/}/$database"
fi
echo "fuzz: berth on ${database_url%%://*}"
export BERTH_DATABASE_URL="$database_url" BERTH_DEMO=false ROCKET_PORT="$port" ROCKET_LOG_LEVEL=off
export ROCKET_PROFILE=debug BERTH_LOG=warn
token="$("$bin" operator create --name "Fuzz Tours" --email fuzz@example.com | tail -n 1)"
"$bin" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done

# Real objects for the path parameters (see schemathesis.toml).
api() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
base="http://127.0.0.1:$port"
FUZZ_TOUR="$(api -X POST "$base/v1/tours" -d '{"name": "Fuzzed walk", "timezone": "Europe/Lisbon",
  "duration_minutes": 60, "currency": "EUR", "units": [{"code": "adult", "label": "Adult", "price": 2500}]}' | field id)"
starts="$(python3 -c 'import datetime as d; print((d.datetime.now(d.timezone.utc) + d.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))')"
FUZZ_OCCURRENCE="$(api -X POST "$base/v1/tours/$FUZZ_TOUR/occurrences" -d "{\"starts_at\": \"$starts\", \"capacity\": 500}" | field id)"
FUZZ_BOOKING="$(api -X POST "$base/v1/bookings" -d "{\"occurrence_id\": \"$FUZZ_OCCURRENCE\",
  \"items\": [{\"unit\": \"adult\", \"quantity\": 2}], \"customer\": {\"name\": \"Ada\", \"email\": \"ada@example.com\"}}" | field reference)"
export FUZZ_TOUR FUZZ_OCCURRENCE FUZZ_BOOKING

# Revoking tokens is excluded: the fuzzer would revoke its own credentials half-way through.
st --config-file tests/fuzz/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --exclude-path '/v1/tokens/{id}' \
  --max-examples "$examples" \
  --workers 2 \
  --seed 20261123 \
  --no-color
echo "fuzz: server log tail"; tail -n 5 "$work/server.log" || true
