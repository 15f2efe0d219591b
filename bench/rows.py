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

from bench import cpu
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
    before = cpu.snapshot()
    res = wrk(base, lines, duration=args.duration, connections=args.connections, workdir=workdir)
    spent = cpu.per_request(before, cpu.snapshot(), res["requests"])
    row = Row(name=name, rps=round(res["rps"], 1), p50_ms=round(res["p50_ms"], 2), p99_ms=round(res["p99_ms"], 2))
    row.errors = res["5xx"] + res["socket_errors"]
    row.extra = {"requests": res["requests"], "2xx": res["ok"], "4xx": res["4xx"], "5xx": res["5xx"], "cpu_ms": spent}
    if baseline and baseline.rps:
        row.ratio = round(row.rps / baseline.rps, 3)
    for key, value in kw.items():
        setattr(row, key, value)
    print(
        f"  {name:<44} {row.rps:>9.1f} req/s  p50 {row.p50_ms:>7.2f} ms  p99 {row.p99_ms:>8.2f} ms  "
        f"errors {row.errors}  ratio {row.ratio}",
        flush=True,
    )
    if spent:
        print("    cpu ms/request: " + ", ".join(f"{k} {v}" for k, v in spent.items()), flush=True)
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


def log_cost(requests: int = 20_000) -> Row:
    """What a request's log line costs, as a share of the bare view: the same `/healthz`
    requests through the WSGI handler in this process with the request line off and on
    (the production setup: one JSON stream handler, here writing to /dev/null), alternated
    in rounds so the machine's drift falls on both, timed in this thread's CPU time (other
    processes on a shared machine then move it far less than wall time). In-process there is no server around the
    view, so this share is an upper bound of the share in served throughput."""
    import io
    import logging
    import os
    import sys

    from django.core.handlers.wsgi import WSGIHandler

    from core.logs import JsonFormatter, RequestIdFilter

    handler = WSGIHandler()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/healthz",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    sink = open(os.devnull, "w")  # noqa: SIM115 - closed below
    console = logging.StreamHandler(sink)
    console.setFormatter(JsonFormatter())
    console.addFilter(RequestIdFilter())
    root.handlers = [console]
    timings: dict[str, list[float]] = {"off": [], "on": []}
    try:
        rounds = 10
        for _ in range(rounds):
            for mode, level in (("off", logging.WARNING), ("on", logging.INFO)):
                root.setLevel(level)
                start = time.thread_time()
                for _ in range(requests // rounds):
                    handler(dict(environ), lambda status, headers: None)
                timings[mode].append((time.thread_time() - start) / (requests // rounds))
    finally:
        root.handlers, _ = saved
        root.setLevel(saved[1])
        sink.close()
    off, on = statistics.median(timings["off"]), statistics.median(timings["on"])
    share = (on - off) / on
    row = Row(
        name="request log line, share of the bare view's time (in-process)",
        ratio=round(share, 3),
        target="< 0.10",
        met=share < 0.10,
        note=f"{off * 1e6:.0f} us per bare request, {(on - off) * 1e6:.1f} us per line",
    )
    print(f"  {row.name:<44} {share:.3f} ({row.note})", flush=True)
    return row


def log_cost_served(env: dict[str, str], args, workdir: Path) -> list[Row]:
    """The request line's cost as served: three `make serve` stacks side by side, with no
    request lines (LOG_LEVEL=WARNING), a line for every request, and a line for a tenth of
    the successful ones (LOG_REQUEST_SAMPLE=0.1; every 4xx, 5xx and slow request is still
    logged), `/healthz` measured on each in turn, three rounds; the throughput lost with the
    lines, from the medians."""
    from bench.server import Server
    from bench.wrk import line

    configs = {
        "off": {"LOG_LEVEL": "WARNING"},
        "every request": {"LOG_LEVEL": "INFO", "LOG_REQUEST_SAMPLE": "1"},
        "sampled 0.1": {"LOG_LEVEL": "INFO", "LOG_REQUEST_SAMPLE": "0.1"},
    }
    rps: dict[str, list[float]] = {mode: [] for mode in configs}
    servers = {mode: Server({**env, **extra}) for mode, extra in configs.items()}
    try:
        for server in servers.values():
            server.__enter__()
        for _ in range(3):
            for mode, server in servers.items():
                res = wrk(
                    server.base,
                    [line("GET", "/healthz")],
                    duration=args.duration,
                    connections=args.connections,
                    workdir=workdir,
                )
                rps[mode].append(res["rps"])
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)
    off = statistics.median(rps["off"])
    rows = []
    for mode in ("every request", "sampled 0.1"):
        on = statistics.median(rps[mode])
        lost = (off - on) / off
        sampled = mode != "every request"
        row = Row(
            name=f"request log lines ({mode}), throughput lost on the bare view (served)",
            rps=round(on, 1),
            ratio=round(lost, 3),
            target="< 0.10" if sampled else "",
            met=(lost < 0.10) if sampled else None,
            note=f"{off:,.0f} req/s without lines; rounds {[round(r) for r in rps['off']]} / "
            f"{[round(r) for r in rps[mode]]}",
        )
        print(f"  {row.name:<44} {lost:.3f} ({row.note})", flush=True)
        rows.append(row)
    return rows


def surge(
    base: str,
    port: int,
    users: list[tuple[int, str]],
    concert_id: int,
    waiting: int,
    args,
    workdir: Path,
    baseline: Row,
) -> Row:
    """The opening minute on Redis: ``len(users)`` distinct fans join a line that already has
    ``waiting`` people (paused, so nobody leaves it), as fast as wrk sends; any fan wrk did not
    reach in its run joins afterwards through a threaded client. Then every fan must hold
    exactly one pass, the newcomers must stand behind everyone already waiting in one
    unbroken run of places, and no answer may be a 5xx."""
    from bench.wrk import line
    from queue_app.backends import get_backend
    from queue_app.backends.redis import _keys

    path = f"/api/v1/concerts/{concert_id}/queue/tokens"
    res = wrk(
        base,
        [line("POST", path, auth) for _, auth in users],
        duration=args.duration,
        connections=args.connections,
        workdir=workdir,
    )
    client = get_backend().client
    keys = _keys(concert_id)
    ids = [uid for uid, _ in users]
    tokens = client.hmget(keys[4], ids)
    missing = [(uid, auth) for (uid, auth), token in zip(users, tokens, strict=True) if token is None]
    late_errors = 0
    if missing:
        local = threading.local()

        def join(item: tuple[int, str]) -> int:
            if not hasattr(local, "client"):
                local.client = Client(port)
            return local.client.call("POST", path, item[1])[0]

        with ThreadPoolExecutor(16) as pool:
            late_errors = sum(1 for status in pool.map(join, missing) if status >= 500)
        tokens = client.hmget(keys[4], ids)
    pipe = client.pipeline(transaction=False)
    for token in tokens:
        pipe.zrank(keys[0], token or "-")
    ranks = pipe.execute()
    placed = sorted(r for r in ranks if r is not None)
    all_served = None not in tokens and len(set(tokens)) == len(users) and len(placed) == len(users)
    in_order = placed == list(range(waiting, waiting + len(users)))
    errors = res["5xx"] + res["socket_errors"] + late_errors
    row = Row(
        name=f"surge: {len(users):,} joins onto {waiting:,} waiting [redis]",
        rps=round(res["rps"], 1),
        p50_ms=round(res["p50_ms"], 2),
        p99_ms=round(res["p99_ms"], 2),
        errors=errors,
        ratio=round(res["rps"] / baseline.rps, 3) if baseline.rps else None,
        target="every fan one pass behind the line, in one run of places, 0 5xx, >= 0.35 x baseline",
    )
    row.met = bool(all_served and in_order and errors == 0 and row.ratio and row.ratio >= 0.35)
    row.note = (
        f"{res['requests']:,} sent by wrk, {len(missing):,} joined after it; one pass each: {all_served}, "
        f"places {waiting + 1:,}..{waiting + len(users):,} unbroken: {in_order}"
    )
    print(f"  {row.name:<44} {row.rps} req/s ratio {row.ratio} ({row.note})", flush=True)
    return row
