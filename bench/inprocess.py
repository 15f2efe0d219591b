"""Where a request's time goes, in this process: the hot paths through Django's WSGI
handler with no server and no load generator around them, timed in this thread's CPU
time (so other processes on a shared machine move the figures little), and optionally
profiled.

    python -m bench.inprocess [--backend database|redis] [--requests 2000] [--profile ROW]

`make profile` runs it with PROFILE_ARGS. Each row is the median of three rounds, in
microseconds of CPU per request, next to the bare view (`/healthz`) measured the same
way; ``--profile join`` (or poll, dates, seats, hold, pay) adds a cProfile of that row
by cumulative CPU time. The data (in `encore_bench` and Redis db 14, as `make bench`
uses them; both are reset first): 400 funded fans admitted to two concerts, a line of
5,000 waiting, and new fans for the joins. Time spent waiting on PostgreSQL or Redis is
not CPU time of this process: the figures are what a worker spends, not latency.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import statistics
import sys
import time

from bench.__main__ import DEFAULT_DB, DEFAULT_REDIS
from bench.data import (
    activate,
    fund,
    load_waiting,
    make_concert,
    make_concerts_with_performances,
    make_holds,
    make_users,
    reset_database,
    set_queue,
    setup_django,
)
from bench.server import SECRET


def _environ(method: str, path: str, auth: str = "", qtok: str = "", body: bytes = b"") -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
    }
    if auth:
        environ["HTTP_AUTHORIZATION"] = f"Token {auth}"
    if qtok:
        environ["HTTP_X_QUEUE_TOKEN"] = qtok
    return environ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["database", "redis"], default="database")
    parser.add_argument("--requests", type=int, default=2000, help="per row and round")
    parser.add_argument("--profile", default="", help="a row to profile: join, poll, dates, seats, hold, pay")
    args = parser.parse_args()
    env = {
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": SECRET,
        "RATE_LIMITS": "off",
        "LOG_LEVEL": "WARNING",
        "QUEUE_BACKEND": args.backend,
        "MAX_HOLDS_PER_USER": "100000",
    }
    if args.backend == "redis":
        env["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    import subprocess

    from tools.procs import REPO

    subprocess.run([sys.executable, "-m", "tools.dbcheck"], env={**os.environ, **env}, cwd=REPO, check=True)
    setup_django(env)
    import json

    import redis as redis_lib
    from django.core.handlers.wsgi import WSGIHandler

    redis_lib.Redis.from_url(os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)).flushdb()
    reset_database()
    n = args.requests
    fans = make_users(400)
    fund(fans, 100_000_000)
    perfs = make_concerts_with_performances(200, "in-process")
    tokens = activate(fans, sorted({cid for cid, _, _ in perfs}))
    cid, date, _ = perfs[0]
    line_cid, _ = make_concert("in-process line", performances=0)
    set_queue(line_cid, paused=True)
    waiting = load_waiting(line_cid, [u for u, _ in make_users(5000)])
    joiners = make_users(4 * n + 1)  # one to warm, three rounds, one profile
    join_cid, _ = make_concert("in-process joins", performances=0)
    set_queue(join_cid, paused=True)
    payers = fans[200:400]
    holds = make_holds(payers, perfs[100:])
    print(f"== {args.backend} backend: {n} requests a row and round ==", flush=True)

    handler = WSGIHandler()
    statuses: dict[str, int] = {}

    def start_response(status: str, headers) -> None:
        statuses[status[:3]] = statuses.get(status[:3], 0) + 1

    fan_cycle = itertools.cycle(fans[:200])
    joiner_iter = iter(joiners)
    seat_numbers = itertools.cycle(range(1, 51))
    perf_cycle = itertools.cycle(perfs[:100])
    pay_iter = iter(holds)

    def hold_request() -> dict:
        uid, auth = next(fan_cycle)
        hold_cid, hold_date, _ = next(perf_cycle)
        body = json.dumps({"concert_id": hold_cid, "date": hold_date, "seat_number": next(seat_numbers)}).encode()
        return _environ("POST", "/api/v1/reservations", auth, tokens[(uid, hold_cid)], body)

    def pay_request() -> dict:
        uid, auth, pay_cid, rid = next(pay_iter)
        body = json.dumps({"reservation_id": rid}).encode()
        return _environ("POST", "/api/v1/payments", auth, tokens[(uid, pay_cid)], body)

    def read(path: str):
        def make() -> dict:
            uid, auth = next(fan_cycle)
            return _environ("GET", path, auth, tokens[(uid, cid)])

        return make

    waiter_cycle = itertools.cycle(waiting)
    rows = {
        "bare view": lambda: _environ("GET", "/healthz"),
        "poll": lambda: _environ("GET", "/api/v1/queue/status", qtok=str(next(waiter_cycle))),
        "join": lambda: _environ("POST", f"/api/v1/concerts/{join_cid}/queue/tokens", next(joiner_iter)[1]),
        "dates": read(f"/api/v1/concerts/{cid}/dates"),
        "seats": read(f"/api/v1/concerts/{cid}/dates/{date}/seats"),
        "hold": hold_request,
        "pay": pay_request,
    }
    # Warm each path once (imports, prepared statements, the token cache of the readers), and
    # poll every waiting pass once: a bulk-loaded pass's first poll records its advice (a write
    # a real waiter makes once), as `make bench` does too.
    for make in rows.values():
        handler(make(), start_response)
    for token in waiting:
        handler(_environ("GET", "/api/v1/queue/status", qtok=str(token)), start_response)
    results: dict[str, list[float]] = {name: [] for name in rows}
    # Each hold is paid once: the pay row takes what the pre-made holds allow (3 rounds + a profile).
    counts = {name: n if name != "pay" else min(n, (len(holds) - 1) // 4) for name in rows}
    for _ in range(3):
        for name, make in rows.items():
            environs = [make() for _ in range(counts[name])]
            started = time.thread_time()
            for environ in environs:
                handler(environ, start_response)
            results[name].append((time.thread_time() - started) / counts[name] * 1e6)
    bare = statistics.median(results["bare view"])
    for name, times in results.items():
        us = statistics.median(times)
        print(f"  {name:<10} {us:8.0f} us CPU per request   {us / bare:5.2f} x the bare view", flush=True)
    print(f"  statuses: {dict(sorted(statuses.items()))}")
    if args.profile:
        make = rows[args.profile]
        environs = [make() for _ in range(counts[args.profile])]
        profile = cProfile.Profile(time.thread_time)
        profile.enable()
        for environ in environs:
            handler(environ, start_response)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    return 0


if __name__ == "__main__":
    sys.exit(main())
