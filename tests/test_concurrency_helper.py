"""The concurrency helper: tasks really overlap, and it stays within the connection budget."""

from __future__ import annotations

import threading

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from tests import concurrency
from tests.concurrency import connection_budget, raise_first_error, run_concurrently

pytestmark = pytest.mark.django_db


class Overlap:
    """Counts the tasks inside ``target`` at once, and the threads they ran on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0
        self.peak = 0
        self.threads: set[int] = set()

    def __enter__(self) -> None:
        with self.lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
            self.threads.add(threading.get_ident())

    def __exit__(self, *exc) -> None:
        with self.lock:
            self.inside -= 1


def test_budget_is_what_the_server_has_to_spare():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int")
        (max_connections,) = cursor.fetchone()
    budget = connection_budget()
    assert 2 <= budget < max_connections
    # However little is left, a race still gets its two threads.
    assert connection_budget(reserve=max_connections) == 2


def test_tasks_blocking_on_a_barrier_all_run_at_once(monkeypatch):
    monkeypatch.setattr(concurrency, "connection_budget", lambda reserve=0: 100)
    workers = 6
    overlap = Overlap()
    together = threading.Barrier(workers)

    def target(i):
        with overlap:
            together.wait(timeout=10)  # passes only once `workers` tasks are inside at once
        return i

    results = raise_first_error(run_concurrently(4 * workers, target, workers=workers))
    assert results == list(range(4 * workers))
    assert overlap.peak == workers == len(overlap.threads)


def test_never_more_threads_than_the_budget(monkeypatch):
    budgets = []
    live = concurrency.connection_budget

    def recorded(reserve=concurrency.SAFETY_MARGIN):
        budgets.append(live(reserve))
        return budgets[-1]

    monkeypatch.setattr(concurrency, "connection_budget", recorded)
    overlap = Overlap()
    count = 200

    def target(i):
        with overlap:
            threading.Event().wait(0.005)
        return i * i

    results = raise_first_error(run_concurrently(count, target))
    assert results == [i * i for i in range(count)]
    assert len(budgets) == 1
    assert 1 < overlap.peak <= len(overlap.threads) <= min(count, budgets[0])


def test_a_budget_smaller_than_the_tasks_still_runs_them_all_overlapping(monkeypatch):
    monkeypatch.setattr(concurrency, "connection_budget", lambda reserve=0: 3)
    overlap = Overlap()
    together = threading.Barrier(3)

    def target(i):
        with overlap:
            together.wait(timeout=10)
        return i

    assert run_concurrently(30, target) == list(range(30))
    assert overlap.peak == 3 == len(overlap.threads)


@pytest.mark.django_db(transaction=True)
def test_results_by_index_errors_kept_and_each_thread_closes_its_connection():
    wrappers = []
    first_four = threading.Barrier(4)

    def target(i):
        if i < 4:
            first_four.wait(timeout=10)  # the first four calls land on the four threads
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s", [i])
            (value,) = cursor.fetchone()
        wrappers.append(connections[DEFAULT_DB_ALIAS])  # this thread's own database connection
        if i % 5 == 0:
            raise ValueError(i)
        return value

    results = run_concurrently(20, target, workers=4)
    assert [type(r) for r in results[::5]] == [ValueError] * 4
    assert [r for i, r in enumerate(results) if i % 5] == [i for i in range(20) if i % 5]
    assert len({id(w) for w in wrappers}) == 4
    assert connections[DEFAULT_DB_ALIAS] not in wrappers
    assert all(w.connection is None for w in wrappers)
    with pytest.raises(ValueError, match="0"):
        raise_first_error(results)
    assert run_concurrently(0, target) == []
