"""Concurrency tests within PostgreSQL's connection limit.

Every thread that touches the ORM opens a connection of its own, and the server
refuses clients beyond ``max_connections`` (100 by default, shared with whatever
else uses the server). So the concurrency tests run their requests on as many
threads as the server can spare right now, read live, rather than one thread per
request: any number of requests is still in flight together, up to that budget.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

# Connections left free for what the code under test may open by itself (a server
# or a subprocess of the test's own) and for other clients connecting meanwhile.
SAFETY_MARGIN = 10
# The fewest threads a concurrency test gets: a race needs two.
MIN_WORKERS = 2
# How long the worker threads wait for each other to start.
START_TIMEOUT_SECONDS = 30

_FREE_SLOTS = """
    SELECT current_setting('max_connections')::int
         - current_setting('superuser_reserved_connections')::int
         - coalesce(current_setting('reserved_connections', true)::int, 0)
         - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
"""


def connection_budget(reserve: int = SAFETY_MARGIN) -> int:
    """How many more connections this test may open right now (never fewer than two).

    Read live from the server: ``max_connections`` less the reserved slots, less the
    client connections open now (this process's, other test runs', anyone's), less
    ``reserve``. Background processes (autovacuum, WAL writer...) have slots of their
    own and are not counted.
    """
    with connection.cursor() as cursor:
        cursor.execute(_FREE_SLOTS)
        (free,) = cursor.fetchone()
    return max(MIN_WORKERS, free - reserve)


def run_concurrently(count: int, target: Callable[[int], Any], *, workers: int | None = None) -> list:
    """Run ``target(i)`` for each ``i`` in ``range(count)`` concurrently; return the
    results (or the exception each call raised) in order of ``i``.

    The calls run on ``min(count, workers or count, connection_budget())`` threads,
    started together behind a barrier, each taking the next ``i`` from a shared queue
    as soon as it is free: with fewer threads than calls, the calls still overlap,
    as many at any moment as there are threads. Each thread closes its database
    connection when it finishes.
    """
    if count <= 0:
        return []
    size = min(count, workers or count, connection_budget())
    tasks: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(count):
        tasks.put(i)
    results: list = [None] * count
    start = threading.Barrier(size)

    def work() -> None:
        try:
            # After a slow start (a broken barrier) the calls still run, with less overlap at first.
            with contextlib.suppress(threading.BrokenBarrierError):
                start.wait(timeout=START_TIMEOUT_SECONDS)
            while True:
                try:
                    i = tasks.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[i] = target(i)
                except BaseException as exc:  # surfaced by the caller's assertions
                    results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, name=f"concurrent-{n}", daemon=True) for n in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def raise_first_error(results: list) -> list:
    """Return ``results`` as they are, or raise the first exception among them (with
    its own traceback), for tests that expect every call to return."""
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
