"""The `rush` scenario for Locust: every user races for the seats of the fixture departure.

    berth-load setup --capacity 50 --out fixtures.json           # with BERTH_TOKEN set
    BERTH_FIXTURES=fixtures.json BERTH_LEDGER=ledger.jsonl BERTH_REQUESTS=500 \
        locust -f load-tests/locust/locustfile.py --headless -u 32 -r 32 --run-time 60s
    berth-load verify --fixtures fixtures.json --ledger ledger.jsonl

Bounded by BERTH_REQUESTS (the test stops itself once that many holds were sent) and by
--run-time. Every 201 is written to the ledger (JSON Lines: reference, departure_id, seats), so
`berth-load verify --ledger` checks each booking, not only the totals. `run.sh` beside this file
does all three steps. A 5xx or any answer other than 201 / 409 sold_out is a Locust failure
(exit code 1).
"""

import json
import os
import random
import threading

import gevent
from locust import HttpUser, constant, events, task

FIXTURES = json.load(open(os.environ.get("BERTH_FIXTURES", "fixtures.json")))
REQUESTS = int(os.environ.get("BERTH_REQUESTS", "500"))
_ledger = open(os.environ.get("BERTH_LEDGER", "ledger.jsonl"), "w")
_lock = threading.Lock()
_sent = 0
_quitting = False


def _take_one():
    """Claims one request from the budget; False once it is spent."""
    global _sent
    with _lock:
        if _sent >= REQUESTS:
            return False
        _sent += 1
        return True


@events.quitting.add_listener
def _close_ledger(environment, **_kwargs):
    with _lock:
        _ledger.close()


class Rusher(HttpUser):
    host = os.environ.get("BERTH_TARGET", FIXTURES["target"])
    wait_time = constant(0)

    @task
    def hold(self):
        if not _take_one():
            # Budget spent: stop the whole test once, from its own greenlet (quitting from inside
            # a user's task trips Locust's user state checks); the others idle meanwhile.
            global _quitting
            with _lock:
                first, _quitting = not _quitting, True
            if first:
                gevent.spawn(self.environment.runner.quit)
            gevent.sleep(0.1)
            return
        departure = FIXTURES["departures"][0]["id"]
        quantity = random.randint(1, FIXTURES["max_quantity"])
        first = random.randint(0, quantity)
        items = [
            {"unit": unit, "quantity": q}
            for unit, q in zip(FIXTURES["units"], (first, quantity - first))
            if q > 0
        ]
        n = random.getrandbits(32)
        body = {
            "departure_id": departure,
            "items": items,
            "customer": {"name": f"Locust Tester {n}", "email": f"locust+{n}@example.com"},
        }
        with self.client.post("/v1/bookings", json=body, name="hold", catch_response=True) as r:
            if r.status_code == 201:
                booking = r.json()
                entry = {
                    "reference": booking["reference"],
                    "departure_id": departure,
                    "seats": booking["seats"],
                }
                with _lock:
                    if not _ledger.closed:
                        _ledger.write(json.dumps(entry) + "\n")
                if booking["seats"] != quantity:
                    r.failure(f"asked for {quantity} seats, got {booking['seats']}")
                else:
                    r.success()
            elif r.status_code == 409 and r.json().get("error", {}).get("code") == "sold_out":
                r.success()
            else:
                r.failure(f"unexpected {r.status_code}: {r.text[:200]}")
