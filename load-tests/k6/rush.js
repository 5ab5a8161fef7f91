// The `rush` scenario for k6: every virtual user races for the seats of the fixture departure.
//
//   berth-load setup --capacity 50 --out fixtures.json          # with BERTH_TOKEN set
//   k6 run -e FIXTURES=fixtures.json -e REQUESTS=500 load-tests/k6/rush.js
//   berth-load verify --fixtures fixtures.json --expect-seats "$(jq .seats_held k6-seats.json)"
//
// Bounded by REQUESTS (shared iterations) and DURATION (maxDuration). `load-tests/k6/run.sh`
// does all three steps. Environment: FIXTURES, TARGET (default: the fixtures' target), VUS (32),
// REQUESTS (500), DURATION (60s), SEATS_OUT (k6-seats.json).
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const fixtures = JSON.parse(open(__ENV.FIXTURES || 'fixtures.json'));
const target = (__ENV.TARGET || fixtures.target).replace(/\/$/, '');
const seatsHeld = new Counter('seats_held');
const serverErrors = new Counter('server_errors');

export const options = {
  scenarios: {
    rush: {
      executor: 'shared-iterations',
      vus: Number(__ENV.VUS || 32),
      iterations: Number(__ENV.REQUESTS || 500),
      maxDuration: __ENV.DURATION || '60s',
    },
  },
  thresholds: {
    server_errors: ['count==0'],
    checks: ['rate==1'],
  },
};

export default function () {
  const departure = fixtures.departures[0].id;
  const quantity = 1 + Math.floor(Math.random() * fixtures.max_quantity);
  const first = Math.floor(Math.random() * (quantity + 1));
  const items = [
    { unit: fixtures.units[0], quantity: first },
    { unit: fixtures.units[1], quantity: quantity - first },
  ].filter((item) => item.quantity > 0);
  const n = `${__VU}-${__ITER}`;
  const res = http.post(
    `${target}/v1/bookings`,
    JSON.stringify({
      departure_id: departure,
      items,
      customer: { name: `k6 Tester ${n}`, email: `k6+${n}@example.com` },
    }),
    {
      headers: { 'Content-Type': 'application/json' },
      responseCallback: http.expectedStatuses(201, 409),
      tags: { name: 'hold' },
    },
  );
  if (res.status >= 500) serverErrors.add(1);
  if (res.status === 201) seatsHeld.add(res.json('seats'));
  check(res, {
    'hold is 201, or 409 sold_out': (r) =>
      r.status === 201 || (r.status === 409 && r.json('error.code') === 'sold_out'),
    '201 holds the seats asked for': (r) => r.status !== 201 || r.json('seats') === quantity,
  });
}

// The total goes to a file for `berth-load verify --expect-seats`; no remote summary helpers.
export function handleSummary(data) {
  const count = (name) => (data.metrics[name] ? data.metrics[name].values.count : 0);
  const summary = {
    seats_held: count('seats_held'),
    requests: count('http_reqs'),
    server_errors: count('server_errors'),
  };
  return {
    [__ENV.SEATS_OUT || 'k6-seats.json']: JSON.stringify(summary),
    stdout: `k6 rush: ${JSON.stringify(summary)}\n`,
  };
}
