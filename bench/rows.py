"""The measured rows: one wrk run against a baseline, and the rows driven by a small
threaded client because they check invariants (hold burst, journey) or are computed
(admission tick timing, poll budget)."""

from __future__ import annotations

import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.data import set_queue
from bench.server import Client
from bench.wrk import wrk


@dataclass
class Row:
    name: str
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


def measure(name: str, base: str, lines: list[str], args, workdir: Path, baseline: Row | None, **kw) -> Row:
    res = wrk(base, lines, duration=args.duration, connections=args.connections, workdir=workdir)
    row = Row(name=name, rps=round(res["rps"], 1), p50_ms=round(res["p50_ms"], 2), p99_ms=round(res["p99_ms"], 2))
    row.errors = res["5xx"] + res["socket_errors"]
    row.extra = {"requests": res["requests"], "2xx": res["ok"], "4xx": res["4xx"], "5xx": res["5xx"]}
    if baseline and baseline.rps:
        row.ratio = round(row.rps / baseline.rps, 3)
    for key, value in kw.items():
        setattr(row, key, value)
    print(
        f"  {name:<44} {row.rps:>9.1f} req/s  p50 {row.p50_ms:>7.2f} ms  p99 {row.p99_ms:>8.2f} ms  "
        f"errors {row.errors}  ratio {row.ratio}",
        flush=True,
    )
    return row


def warm_polls(port: int, tokens: list[str]) -> None:
    """One poll per sampled pass first, as in steady state: a bulk-loaded pass has never been
    advised, so its first poll records the advice (a write), which a waiter does once."""
    local = threading.local()

    def poll(token: str) -> None:
        if not hasattr(local, "client"):
            local.client = Client(port)
        local.client.call("GET", "/api/v1/queue/status", qtok=token)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(poll, tokens))


def hold_burst(
    port: int, users: list[tuple[int, str]], tokens: dict, concert_id: int, date: str, performance_id: int
) -> Row:
    """1,000 attempts from 200 users on one performance's 50 seats, at once."""
    from django.db import connection

    attempts = [(users[i % len(users)], random.Random(i).randint(1, 50)) for i in range(1000)]
    local = threading.local()
    start = time.monotonic()
    wins: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()

    def attempt(item):
        (uid, auth), seat = item
        if not hasattr(local, "client"):
            local.client = Client(port)
        status, _ = local.client.call(
            "POST",
            "/api/v1/reservations",
            auth,
            tokens[(uid, concert_id)],
            {"concert_id": concert_id, "date": date, "seat_number": seat},
        )
        with lock:
            codes[status] = codes.get(status, 0) + 1
            if status == 201:
                wins.append(time.monotonic() - start)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(attempt, attempts))
    elapsed = time.monotonic() - start
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM (SELECT seat_id FROM concerts_reservation
               WHERE performance_id = %s AND status IN ('HELD', 'CONFIRMED') GROUP BY seat_id HAVING count(*) > 1) d""",
            [performance_id],
        )
        doubles = cur.fetchone()[0]
    server_errors = sum(n for code, n in codes.items() if code >= 500)
    row = Row(
        name="seat-hold burst (1,000 attempts, 200 users, 50 seats)",
        rps=round(1000 / elapsed, 1),
        errors=server_errors,
        target="50 winners, 0 double bookings, 0 5xx",
        met=len(wins) == 50 and doubles == 0 and server_errors == 0,
        note=f"winners {len(wins)}, double bookings {doubles}, 5xx {server_errors}, "
        f"all 50 seats gone in {max(wins) * 1000 if wins else float('nan'):.0f} ms",
        extra={"codes": codes, "winners": len(wins), "double_bookings": doubles},
    )
    print(f"  {row.name:<44} {row.note}", flush=True)
    return row


def journey(port: int, users: list[tuple[int, str]], perfs: list[tuple[int, str, int]], seconds: int) -> Row:
    """join -> admitted -> dates -> seats -> hold -> pay, as completed purchases per second."""
    stop = time.monotonic() + seconds
    done = []
    errors = []
    lock = threading.Lock()

    def fan(index: int) -> None:
        rng = random.Random(index)
        client = Client(port)
        _, auth = users[index]
        while time.monotonic() < stop:
            cid, date, _pid = rng.choice(perfs)
            status, body = client.call("POST", f"/api/v1/concerts/{cid}/queue/tokens", auth)
            if status >= 500:
                errors.append(status)
                continue
            qtok = body["token"]
            while body.get("status") == "WAITING" and time.monotonic() < stop:
                time.sleep(min(1, body.get("poll_after_seconds", 1)))
                status, body = client.call("GET", "/api/v1/queue/status", qtok=qtok)
            client.call("GET", f"/api/v1/concerts/{cid}/dates", auth, qtok)
            status, seats = client.call("GET", f"/api/v1/concerts/{cid}/dates/{date}/seats", auth, qtok)
            if status != 200 or not seats["available"]:
                continue
            status, held = client.call(
                "POST",
                "/api/v1/reservations",
                auth,
                qtok,
                {"concert_id": cid, "date": date, "seat_number": rng.choice(seats["available"])},
            )
            if status != 201:
                if status >= 500:
                    errors.append(status)
                continue
            status, _ = client.call("POST", "/api/v1/payments", auth, qtok, {"reservation_id": held["id"]})
            with lock:
                (done if status == 201 else errors).append(status)

    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(fan, range(16)))
    elapsed = time.monotonic() - start
    server_errors = sum(1 for e in errors if e >= 500)
    row = Row(
        name="whole journey (join -> ... -> pay), 16 fans",
        rps=round(len(done) / elapsed, 1),
        errors=server_errors,
        note=f"{len(done)} purchases in {elapsed:.1f} s",
    )
    print(f"  {row.name:<44} {row.rps} purchases/s ({row.note})", flush=True)
    return row


def tick_ms(concert_id: int) -> float:
    """Milliseconds of one admission tick admitting 1,000 (median of 3)."""
    from queue_app import services
    from queue_app.selectors import queue_config_cache_clear

    set_queue(concert_id, admit_batch=1000, max_active=10_000_000, paused=False)
    queue_config_cache_clear()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = services.queue_tick(concert_id=concert_id)
        times.append((time.perf_counter() - t0) * 1000)
        if result.admitted != 1000:
            raise RuntimeError(f"a timed tick admitted {result.admitted}, not 1,000: {result}")
    return statistics.median(times)


def poll_budget(capacity_rps: float | None) -> Row:
    """100k waiting users each polling at the advised interval: total request rate."""
    from django.conf import settings

    from queue_app.selectors import poll_advice

    waiting, budget = 100_000, settings.QUEUE_POLL_BUDGET_RPS
    rate = sum(1 / poll_advice(position=k, waiting=waiting, budget_rps=budget) for k in range(1, waiting + 1))
    longest = poll_advice(position=waiting, waiting=waiting, budget_rps=budget)
    ok = rate <= budget and (capacity_rps is None or rate <= capacity_rps)
    row = Row(
        name="poll budget: 100k waiting at the advised intervals",
        rps=round(rate, 1),
        target=f"<= QUEUE_POLL_BUDGET_RPS ({budget}) and <= measured poll capacity ({capacity_rps or '-'} req/s)",
        met=ok,
        note=f"front polls every 1 s, the back every {longest} s",
    )
    print(f"  {row.name:<44} {row.rps} req/s total ({row.note})", flush=True)
    return row
