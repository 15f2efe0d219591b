import itertools
import threading

import pytest

from queue_app.models import QueueSnapshot
from queue_app.services import queue_tick_all
from queue_app.ticker import run_ticker
from tests.factories import ConcertFactory, UserFactory
from tests.queue_app.test_queue import join, set_queue, status_of


@pytest.mark.django_db(transaction=True)
def test_one_second_interval_admits_every_second(settings):
    settings.QUEUE_ADMIT_INTERVAL_SECONDS = 1
    concert = ConcertFactory()
    set_queue(concert, max_active=0)
    tokens = [join(UserFactory(), concert).json()["token"] for _ in range(10)]
    set_queue(concert, max_active=100, admit_batch=2)

    ticks = run_ticker(stop=threading.Event(), step=queue_tick_all, max_ticks=4)

    assert ticks == 4
    snapshots = list(QueueSnapshot.objects.filter(concert=concert).order_by("at"))
    assert [s.admitted for s in snapshots] == [2, 2, 2, 2]
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(snapshots)]
    # On the one-second grid: no tick early, none skipped.
    assert all(0.9 <= gap < 1.9 for gap in gaps), gaps
    statuses = [status_of(t).json()["status"] for t in tokens]
    assert statuses == ["ACTIVE"] * 8 + ["WAITING"] * 2


def test_ticker_survives_a_failing_step():
    calls = []

    def step():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")

    assert run_ticker(stop=threading.Event(), interval=0.01, step=step, max_ticks=3) == 3
    assert len(calls) == 3
