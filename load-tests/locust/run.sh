#!/usr/bin/env bash
# Locust rush, then verification: setup fixtures, run locustfile.py headless, verify every
# booking against the ledger Locust wrote. Needs BERTH_TOKEN (an operator token), `locust`
# (pip install locust) and `berth-load` (BERTH_LOAD, default: the release build in target/).
# Environment: BERTH_TARGET (http://127.0.0.1:8000), CAPACITY (50), REQUESTS (500), USERS (32),
# RUN_TIME (60s).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
load="${BERTH_LOAD:-$here/../../${CARGO_TARGET_DIR:-target}/release/berth-load}"
: "${BERTH_TOKEN:?set BERTH_TOKEN to an operator token}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
"$load" setup --label locust --capacity "${CAPACITY:-50}" --out "$work/fixtures.json" >/dev/null
status=0
BERTH_FIXTURES="$work/fixtures.json" BERTH_LEDGER="$work/ledger.jsonl" BERTH_REQUESTS="${REQUESTS:-500}" \
  locust -f "$here/locustfile.py" --headless --only-summary -u "${USERS:-32}" -r "${USERS:-32}" \
  --run-time "${RUN_TIME:-60s}" --stop-timeout 10 || status=$?
"$load" verify --fixtures "$work/fixtures.json" --ledger "$work/ledger.jsonl" || status=1
exit "$status"
