#!/usr/bin/env python3
"""The rush of load-tests/galera.sh: one departure, many one-seat holds spread round-robin over
several berth instances (each on its own Galera node), then every instance is asked what it
sees. Standard library only.

    galera_rush.py --token brt_... [--seats 300] [--requests 3000] [--concurrency 96]
                   [--metrics-token T] [--out result.json] URL1 URL2 URL3
    galera_rush.py --promo-race LIMIT --token brt_... [--requests 200] [--departures 20] URL...

The second form races holds that all use one promo code of LIMIT uses, each hold on another
departure of the tour (so they share no departure row), and passes when no more than LIMIT
holds got the code and every instance counts no more than LIMIT live redemptions.

The tour and departure are created through the first URL. Each hold carries its own
Idempotency-Key, so a hold whose connection broke is sent again (same key) without the risk of
booking twice. Passes (exit 0) when: every answer is 201, 409 sold_out or 503 busy (no other
status, no 5xx but 503); every instance reports the same capacity, availability, seats taken
and set of references; the seats sold equal the 201s and never exceed the capacity; the
references answered 201 are unique and are exactly those on the manifest.
"""

import argparse
import collections
import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone


class Client:
    """One keep-alive connection per (thread, instance)."""

    def __init__(self, base):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port or 80
        self.conn = None

    def request(self, method, path, body=None, headers=None, retries=3):
        data = None if body is None else json.dumps(body).encode()
        head = {"Accept": "application/json"}
        if data is not None:
            head["Content-Type"] = "application/json"
        head.update(headers or {})
        last = None
        for _ in range(retries):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                self.conn.request(method, path, body=data, headers=head)
                response = self.conn.getresponse()
                raw = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = {"raw": raw[:200].decode(errors="replace")}
                return response.status, parsed
            except (http.client.HTTPException, OSError) as error:
                # Sent again only with the same Idempotency-Key (holds) or when safe (GET).
                last = error
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
        raise RuntimeError(f"{method} {path}: {last}")


def setup(base, token, seats, departures=1):
    client = Client(base)
    auth = {"Authorization": f"Bearer {token}"}
    run = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    status, tour = client.request("POST", "/v1/tours", {
        "name": f"Galera rush {run}",
        "description": "Created by load-tests/galera.sh; safe to ignore.",
        "meeting_point": "Load test",
        "timezone": "UTC",
        "duration_minutes": 60,
        "currency": "EUR",
        "cutoff_minutes": 0,
        "min_per_booking": 1,
        "max_per_booking": 10,
        "units": [{"code": "adult", "label": "Adult", "price": 3500}],
    }, auth)
    if status != 201:
        sys.exit(f"create the tour: {status} {tour}")
    ids = []
    for i in range(departures):
        starts_at = (datetime.now(timezone.utc) + timedelta(days=3, hours=i)).replace(microsecond=0)
        status, departure = client.request(
            "POST", f"/v1/tours/{tour['id']}/departures",
            {"starts_at": starts_at.isoformat().replace("+00:00", "Z"), "capacity": seats}, auth)
        if status != 201:
            sys.exit(f"create the departure: {status} {departure}")
        ids.append(departure["id"])
    return tour["id"], ids


def fire(bases, requests, concurrency, body_of):
    """Sends `requests` holds, the i-th to bases[i % len] with body_of(i); returns the answers
    as (status counts, per-instance counts, references answered 201, unexpected answers,
    latencies, wall seconds)."""
    local = threading.local()
    lock = threading.Lock()
    by_status = collections.Counter()
    by_instance = collections.defaultdict(collections.Counter)
    references = collections.Counter()
    failures = []
    latencies = []
    timeline = []

    def hold(i):
        base = bases[i % len(bases)]
        clients = getattr(local, "clients", None)
        if clients is None:
            clients = local.clients = {b: Client(b) for b in bases}
        started = time.perf_counter()
        try:
            status, reply = clients[base].request(
                "POST", "/v1/bookings", body_of(i), {"Idempotency-Key": str(uuid.uuid4())})
        except RuntimeError as error:
            status, reply = 0, {"error": str(error)}
        elapsed = time.perf_counter() - started
        code = (reply or {}).get("error") if isinstance(reply, dict) else None
        if isinstance(code, dict):
            code = code.get("code")
            if code == "validation_failed":
                code = "/".join(sorted(set(reply["error"].get("fields", {}).values())))
        key = f"{status} {code}" if status != 201 else "201"
        with lock:
            timeline.append((time.perf_counter(), key))
            latencies.append(elapsed)
            by_status[key] += 1
            by_instance[base][key] += 1
            if status == 201:
                references[reply["reference"]] += 1
            elif status == 0 or status >= 500 and status != 503:
                if len(failures) < 20:
                    failures.append((base, status, reply))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(hold, range(requests)))
    wall = time.perf_counter() - started
    latencies.sort()
    # When the 503s came: while seats were still being sold, or after the last 201.
    last_sale = max((t for t, key in timeline if key == "201"), default=started)
    busy_after = sum(1 for t, key in timeline if key == "503 busy" and t > last_sale)
    if by_status.get("503 busy"):
        print(f"   (503s answered after the last 201: {busy_after} of {by_status['503 busy']}; "
              f"last 201 at {last_sale - started:.1f} s)")
    return by_status, by_instance, references, failures, latencies, wall


def report_answers(requests, by_status, latencies, wall):
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
    print(f"== {requests} requests in {wall:.1f} s ({requests / wall:.0f}/s), "
          f"latency p50 {pct(0.50):.0f} ms, p99 {pct(0.99):.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    for key, count in sorted(by_status.items()):
        print(f"   {key:<28} {count:>6}  ({100 * count / requests:.1f} %)")


def promo_race(args, bases):
    """Holds on different departures racing for one code of `limit` uses."""
    limit = args.promo_race
    auth = {"Authorization": f"Bearer {args.token}"}
    tour, departures = setup(bases[0], args.token, 100, args.departures)
    client = Client(bases[0])
    code_text = "GALERA" + uuid.uuid4().hex[:8].upper()
    status, code = client.request("POST", "/v1/promo-codes", {
        "code": code_text, "percent_off": 10, "tour_id": tour, "max_redemptions": limit}, auth)
    if status != 201:
        sys.exit(f"create the promo code: {status} {code}")
    deadline = time.time() + 30
    while True:
        answers = [Client(b).request("GET", f"/v1/promo-codes/{code['id']}", headers=auth)
                   for b in bases]
        seen = [Client(b).request("GET", f"/v1/departures/{departures[-1]}")[0] for b in bases]
        if all(a[0] == 200 for a in answers) and all(s == 200 for s in seen):
            break
        if time.time() > deadline:
            sys.exit("the code or the departures did not reach every node in 30 s")
        time.sleep(0.2)
    print(f"== promo code {code_text} ({limit} uses) on tour {tour}: {args.requests} holds "
          f"with it over {len(departures)} departures, {args.concurrency} in flight, round-robin")

    def body(i):
        return {
            "departure_id": departures[i % len(departures)],
            "items": [{"unit": "adult", "quantity": 1}],
            "customer": {"name": f"Coder {i}", "email": f"coder{i}@example.com"},
            "promo_code": code_text,
        }

    by_status, by_instance, references, failures, latencies, wall = fire(
        bases, args.requests, args.concurrency, body)
    report_answers(args.requests, by_status, latencies, wall)
    for base, status, reply in failures:
        print(f"   UNEXPECTED {base}: {status} {json.dumps(reply)[:300]}")
    time.sleep(2)
    problems = []
    got = by_status.get("201", 0)
    print("== what each instance (node) reports")
    for base in bases:
        status, view = Client(base).request("GET", f"/v1/promo-codes/{code['id']}", headers=auth)
        print(f"   {base}: live redemptions {view.get('redemptions')} of {view.get('max_redemptions')}")
        if view.get("redemptions", 0) > limit:
            problems.append(f"{base}: {view.get('redemptions')} live redemptions of a {limit}-use code")
    if got > limit:
        problems.append(f"{got} holds got a {limit}-use code")
    unexpected = {k: v for k, v in by_status.items()
                  if k not in ("201", "503 busy") and not k.startswith("422 ")}
    if unexpected:
        problems.append(f"unexpected answers: {unexpected}")
    print(f"== {got} holds got the code (limit {limit})")
    for problem in problems:
        print(f"   PROBLEM: {problem}")
    return 1 if problems else 0


def observe(bases, token, departure):
    """What each instance says about the departure: (capacity, available, seats_taken, refs)."""
    auth = {"Authorization": f"Bearer {token}"}
    seen = []
    for base in bases:
        client = Client(base)
        status, view = client.request("GET", f"/v1/departures/{departure}")
        if status != 200:
            raise RuntimeError(f"{base}: departure {status} {view}")
        # The manifest comes in pages (next_cursor); seats_taken is the whole departure's.
        bookings, cursor = [], None
        while True:
            query = "?limit=1000" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            status, manifest = client.request(
                "GET", f"/v1/departures/{departure}/manifest{query}", headers=auth)
            if status != 200:
                raise RuntimeError(f"{base}: manifest {status} {manifest}")
            bookings.extend(manifest["bookings"])
            cursor = manifest.get("next_cursor")
            if not cursor:
                break
        refs = collections.Counter()
        seats = 0
        for booking in bookings:
            refs[booking["reference"]] += 1
            seats += booking["seats"]
        seen.append({
            "instance": base,
            "capacity": view["capacity"],
            "available": view["available"],
            "seats_taken": manifest["seats_taken"],
            "manifest_bookings": len(bookings),
            "manifest_seats": seats,
            "statuses": dict(collections.Counter(b["status"] for b in bookings)),
            "references": refs,
        })
    return seen


def metrics(base, token):
    """berth's own counters of retried transactions and 503s, when /metrics is open to us."""
    if not token:
        return {}
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    if response.status != 200:
        return {}
    wanted = ("transaction_retries_total", "busy_responses_total", "sold_out_rejections_total",
              "seats_held_total")
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        for suffix in wanted:
            if name.endswith(suffix):
                found[suffix] = int(float(value))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--token", required=True)
    parser.add_argument("--seats", type=int, default=300)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=96)
    parser.add_argument("--metrics-token")
    parser.add_argument("--out")
    parser.add_argument("--promo-race", type=int, metavar="LIMIT")
    parser.add_argument("--departures", type=int, default=20)
    args = parser.parse_args()
    bases = [u.rstrip("/") for u in args.urls]
    if args.promo_race:
        return promo_race(args, bases)

    tour, (departure,) = setup(bases[0], args.token, args.seats)
    # Galera applies the departure on the other nodes a moment later (reads are not causal
    # unless wsrep_sync_wait is set): wait until every instance sees it whole.
    deadline = time.time() + 30
    while True:
        try:
            seen = observe(bases, args.token, departure)
            if all(s["available"] == args.seats for s in seen):
                break
        except RuntimeError:
            pass
        if time.time() > deadline:
            sys.exit("the departure did not reach every node in 30 s")
        time.sleep(0.2)
    print(f"== departure {departure} ({args.seats} seats) seen by all {len(bases)} instances; "
          f"{args.requests} one-seat holds, {args.concurrency} in flight, round-robin")

    def body(i):
        return {
            "departure_id": departure,
            "items": [{"unit": "adult", "quantity": 1}],
            "customer": {"name": f"Rusher {i}", "email": f"rusher{i}@example.com"},
        }

    metrics_before = {b: metrics(b, args.metrics_token) for b in bases}
    by_status, by_instance, references, failures, latencies, wall = fire(
        bases, args.requests, args.concurrency, body)
    metrics_after = {b: metrics(b, args.metrics_token) for b in bases}
    report_answers(args.requests, by_status, latencies, wall)
    for base in bases:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(by_instance[base].items()))
        delta = {k: metrics_after[base].get(k, 0) - metrics_before[base].get(k, 0)
                 for k in metrics_after[base]}
        extra = (f"; berth retried {delta.get('transaction_retries_total', '?')} transactions, "
                 f"answered {delta.get('busy_responses_total', '?')} busy") if delta else ""
        print(f"   {base}: {parts}{extra}")
    for base, status, reply in failures:
        print(f"   UNEXPECTED {base}: {status} {json.dumps(reply)[:300]}")

    problems = []
    unexpected = {k: v for k, v in by_status.items() if k not in ("201", "409 sold_out", "503 busy")}
    if unexpected:
        problems.append(f"answers other than 201 / 409 sold_out / 503 busy: {unexpected}")
    duplicates = [r for r, c in references.items() if c > 1]
    if duplicates:
        problems.append(f"references answered 201 more than once: {duplicates[:5]}")

    # Replication is virtually synchronous: give the last write sets a moment to be applied.
    deadline = time.time() + 30
    while True:
        seen = observe(bases, args.token, departure)
        first = seen[0]
        agree = all((s["available"], s["seats_taken"], s["references"]) ==
                    (first["available"], first["seats_taken"], first["references"]) for s in seen)
        if agree or time.time() > deadline:
            break
        time.sleep(0.5)
    held = by_status.get("201", 0)
    print("== what each instance (node) reports")
    for s in seen:
        sold = s["capacity"] - s["available"]
        print(f"   {s['instance']}: capacity {s['capacity']}, available {s['available']}, "
              f"sold {sold}, seats_taken {s['seats_taken']}, manifest {s['manifest_bookings']} "
              f"bookings / {s['manifest_seats']} seats {s['statuses']}")
        if sold != s["seats_taken"] or sold != s["manifest_seats"]:
            problems.append(f"{s['instance']}: capacity - available = {sold}, seats_taken = "
                            f"{s['seats_taken']}, manifest seats = {s['manifest_seats']}")
        if sold > s["capacity"]:
            problems.append(f"{s['instance']}: OVERSOLD {sold} > {s['capacity']}")
        if sold != held:
            problems.append(f"{s['instance']}: sold {sold} but {held} holds answered 201")
        if set(s["references"]) != set(references):
            problems.append(f"{s['instance']}: manifest references differ from the 201s "
                            f"({len(set(s['references']) - set(references))} unknown, "
                            f"{len(set(references) - set(s['references']))} missing)")
    if not agree:
        problems.append("the instances do not agree on the departure")
    print(f"== seats sold {held} of {args.seats}; instances agree: {'yes' if agree else 'NO'}")

    if args.out:
        with open(args.out, "w") as out:
            json.dump({
                "departure": departure, "tour": tour, "seats": args.seats,
                "requests": args.requests, "concurrency": args.concurrency,
                "wall_seconds": wall, "by_status": by_status,
                "by_instance": by_instance, "metrics_before": metrics_before,
                "metrics_after": metrics_after,
                "instances": [{k: v for k, v in s.items() if k != "references"} for s in seen],
                "problems": problems,
            }, out, indent=2)
    for problem in problems:
        print(f"   PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
