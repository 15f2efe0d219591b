"""Scale-out: two admission tickers and two django-q2 clusters on one database
stay exactly-once (real processes, as `make serve-scaled` runs them)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_q.tasks import async_task

from concerts.models import Reservation
from payments.models import OutboxEmail
from queue_app.models import QueuePass
from tests.factories import ConcertFactory, UserFactory, make_performance
from tests.queue_app.test_queue import join, set_queue
from tools.procs import without_redis

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def subprocess_env(**extra: str) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in without_redis(os.environ).items() if k != "QUEUE_BACKEND"}
    return {**env, "DATABASE_URL": url, "DJANGO_DEBUG": "1", "LOG_LEVEL": "WARNING", **extra}


def start(*args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=subprocess_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_two_tickers_never_exceed_the_cap_nor_admit_out_of_order(settings):
    concert = ConcertFactory()
    set_queue(concert, max_active=0)
    for _ in range(120):
        join(UserFactory(), concert)
    set_queue(concert, max_active=70, admit_batch=15)
    tickers = [start("queue_ticker", "--interval", "1", QUEUE_ADMIT_INTERVAL_SECONDS="1") for _ in range(2)]
    try:
        samples = []
        reached = wait_for(
            lambda: (
                samples.append(QueuePass.objects.filter(concert=concert, status="ACTIVE").count()) or samples[-1] >= 70
            ),
            timeout=40,
        )
    finally:
        stop(*tickers)
    assert reached, samples
    assert max(samples) == 70, samples
    line = list(QueuePass.objects.filter(concert=concert).order_by("order_key").values_list("status", flat=True))
    # FIFO: the first 70 in line are the admitted ones, nobody skipped, nobody twice.
    assert line == ["ACTIVE"] * 70 + ["WAITING"] * 50


def test_two_clusters_send_each_email_once_and_sweep_holds_once():
    users = [UserFactory() for _ in range(25)]
    emails = [
        OutboxEmail.objects.create(
            key=f"scale:{u.pk}", to=u.email, subject="Hello", text="Hello", next_attempt_at=timezone.now()
        )
        for u in users
    ]
    performance = make_performance(ConcertFactory())
    past = timezone.now() - dt.timedelta(seconds=5)
    seats = list(performance.seats.order_by("number"))
    lapsed = Reservation.objects.bulk_create(
        Reservation(user=users[0], performance=performance, seat=s, price=s.price, held_until=past) for s in seats[:40]
    )
    live = Reservation.objects.create(
        user=users[1],
        performance=performance,
        seat=seats[45],
        price=1,
        held_until=timezone.now() + dt.timedelta(minutes=10),
    )
    # Every email is enqueued twice and the sweep four times: two clusters race for them.
    for email in emails:
        for _ in range(2):
            async_task("payments.tasks.send_outbox_email", email.pk, sync=False)
    for _ in range(4):
        async_task("concerts.tasks.sweep_lapsed_holds", sync=False)
    clusters = [start("qcluster") for _ in range(2)]
    try:
        done = wait_for(
            lambda: (
                not OutboxEmail.objects.filter(status="PENDING").exists()
                and not Reservation.objects.filter(pk__in=[r.pk for r in lapsed], status="HELD").exists()
            ),
            timeout=60,
        )
    finally:
        stop(*clusters)
    assert done
    assert set(OutboxEmail.objects.values_list("status", "attempts")) == {("SENT", 1)}
    assert Reservation.objects.filter(pk__in=[r.pk for r in lapsed], status="EXPIRED").count() == 40
    live.refresh_from_db()
    assert live.status == "HELD"
