#!/usr/bin/env bash
# k6 rush, then verification: setup fixtures, run load-tests/k6/rush.js, verify the totals.
# Needs BERTH_TOKEN (an operator token), `k6` on PATH and `berth-load` (BERTH_LOAD, default: the
# release build in target/). Environment: BERTH_TARGET (http://127.0.0.1:8000), CAPACITY (50),
# REQUESTS (500), VUS (32), DURATION (60s).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
load="${BERTH_LOAD:-$here/../../${CARGO_TARGET_DIR:-target}/release/berth-load}"
: "${BERTH_TOKEN:?set BERTH_TOKEN to an operator token}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
"$load" setup --label k6 --capacity "${CAPACITY:-50}" --out "$work/fixtures.json" >/dev/null
status=0
k6 run --quiet -e FIXTURES="$work/fixtures.json" -e SEATS_OUT="$work/seats.json" \
  -e REQUESTS="${REQUESTS:-500}" -e VUS="${VUS:-32}" -e DURATION="${DURATION:-60s}" \
  "$here/rush.js" || status=$?
seats="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seats_held"])' "$work/seats.json")"
"$load" verify --fixtures "$work/fixtures.json" --expect-seats "$seats" || status=1
exit "$status"
