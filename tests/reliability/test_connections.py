"""No serving mode holds unbounded PostgreSQL connections: `make run`'s runserver starts
a thread per request, and each request borrows from the process's bounded pool."""

from __future__ import annotations

import threading

import psycopg
import pytest

from tests.factories import ConcertFactory
from tests.reliability.procs import http
from tools.procs import free_port, wait_for_port

pytestmark = pytest.mark.slow

APP_NAME = "encore-bounded-connections"
POOL = 4


def _server_connections(db_settings: dict) -> int:
    with psycopg.connect(
        host=db_settings.get("HOST") or "127.0.0.1",
        port=db_settings.get("PORT") or 5432,
        user=db_settings.get("USER") or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP_NAME]).fetchone()[
            0
        ]


def test_runserver_keeps_a_bounded_number_of_connections_under_any_concurrency(db_settings, env, processes):
    ConcertFactory.create_batch(3)
    port = free_port()
    web = processes.start(
        "runserver",
        ["manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env(DB_POOL_MAX_SIZE=str(POOL), DJANGO_DEBUG="1", PGAPPNAME=APP_NAME),
    )
    wait_for_port(port, timeout=30, proc=web)
    base = f"http://127.0.0.1:{port}"

    peak = 0
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.is_set():
            peak = max(peak, _server_connections(db_settings))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        for _ in range(2):  # a second burst finds the same connections, none leaked by the first
            replies: list = []
            start = threading.Barrier(120)

            def fetch(start=start, replies=replies) -> None:
                start.wait(timeout=30)
                replies.append(http("GET", f"{base}/api/v1/concerts", timeout=30).status)

            clients = [threading.Thread(target=fetch) for _ in range(120)]
            for client in clients:
                client.start()
            for client in clients:
                client.join(timeout=60)
            assert sorted(set(replies)) == [200], replies
    finally:
        sampling.set()
        sampler.join(timeout=10)
    assert 1 <= peak <= POOL, f"the server held {peak} connections at once; its pool allows {POOL}"
    assert _server_connections(db_settings) <= POOL
