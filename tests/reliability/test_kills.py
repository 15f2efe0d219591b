"""kill -9 in the middle of the background work, then start again.

- the admission ticker (`manage.py queue_ticker --interval 1`): killed while it holds
  the concert's admission lock halfway through a tick, and at random while two
  tickers run at once. Nobody is admitted twice, skipped or lost, and the cap holds
  at every moment.
- the hold sweeper: killed at random mid-sweep while fans pay for live holds. Every
  lapsed hold ends EXPIRED, every live hold stays HELD, paid ones CONFIRMED.
- the django-q2 cluster (`manage.py qcluster`) and the outbox dispatcher: killed with
  confirmation emails queued, one of them exactly between the mail server accepting a
  message and the outbox row's commit. Every email is delivered; the only repeat is
  the one caught in that window, and it is the same message (same Message-ID).
"""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_q.conf import Conf

from concerts import services as concert_services
from concerts.models import Reservation, Seat
from payments import services as payment_services
from payments.models import OutboxEmail
from queue_app.backends import get_backend
from queue_app.models import ConcertQueue, QueuePass, QueueSnapshot
from queue_app.selectors import queue_config_cache_clear
from queue_app.services import pass_join
from tests.factories import ConcertFactory, UserFactory, make_performance
from tests.reliability.mailsink import delivered
from tests.reliability.procs import ActiveMonitor, connect, lock_waiters
from tools.procs import wait_until
from wallet import services as wallet_services

pytestmark = pytest.mark.slow

User = get_user_model()


def _users(n: int) -> list:
    stamp = time.monotonic_ns()
    User.objects.bulk_create([User(username=f"k{stamp}-{i}", email=f"k{i}@example.com") for i in range(n)])
    return list(User.objects.filter(username__startswith=f"k{stamp}-").order_by("pk"))


def _set_queue(concert, **fields) -> None:
    ConcertQueue.objects.update_or_create(concert=concert, defaults=fields)
    queue_config_cache_clear()


def test_ticker_killed_mid_admission(db_settings, env, processes):
    cap, batch, joined = 60, 10, 150
    concert = ConcertFactory()
    _set_queue(concert, max_active=0)  # everyone queues first
    users = _users(joined)
    tokens = [pass_join(user_id=u.pk, concert_id=concert.pk)[0].token for u in users]
    _set_queue(concert, max_active=cap, admit_batch=batch)
    line = list(QueuePass.objects.filter(concert=concert).order_by("order_key").values_list("token", flat=True))
    assert line == tokens  # FIFO by arrival
    ticker_env = env(QUEUE_BACKEND="database", LOCK_TIMEOUT_MS="60000")
    ticker = ["manage.py", "queue_ticker", "--interval", "1"]

    def active() -> int:
        return QueuePass.objects.filter(concert=concert, status="ACTIVE").count()

    with ActiveMonitor(db_settings, concert.pk) as monitor:
        first = processes.start("ticker-a", ticker, ticker_env)
        wait_until(lambda: active() >= batch, timeout=30, what="a first admission")

        # 1. Killed halfway through a tick: it holds the concert's admission lock and is
        #    blocked updating the next pass in line (row-locked here).
        with connect(db_settings) as holder:
            holder.execute(
                "SELECT 1 FROM queue_app_queuepass WHERE id = (SELECT id FROM queue_app_queuepass "
                "WHERE concert_id = %s AND status = 'WAITING' ORDER BY order_key LIMIT 1) FOR SHARE",
                [concert.pk],
            )
            wait_until(lambda: lock_waiters(db_settings, "UPDATE%queue_app_queuepass%"), timeout=15, what="mid-tick")
            first.kill9()
            holder.rollback()
        # Its transaction died with it: the admission lock is free again at once.
        with connect(db_settings) as probe:
            probe.execute("SET lock_timeout = '2s'")
            probe.execute("SELECT 1 FROM queue_app_concertqueue WHERE concert_id = %s FOR UPDATE", [concert.pk])
            probe.rollback()

        # 2. Two tickers at once (one per machine), one of them killed at a random moment
        #    once they are admitting.
        second = processes.start("ticker-b", ticker, ticker_env)
        third = processes.start("ticker-c", ticker, ticker_env)
        before = active()
        wait_until(lambda: active() > before, timeout=30, what="the restarted tickers to admit")
        time.sleep(random.uniform(0.0, 1.0))
        second.kill9()
        wait_until(lambda: active() >= cap, timeout=40, what="the cap to fill")
        time.sleep(1.2)  # one more tick: it must admit nobody past the cap
        third.kill9()

    assert max(monitor.samples) == cap, "the cap was exceeded at some moment"
    passes = {p.token: p for p in QueuePass.objects.filter(concert=concert)}
    assert len(passes) == joined, "a pass was lost or duplicated"
    assert QueuePass.objects.filter(concert=concert).values("user").distinct().count() == joined
    # Exactly the first `cap` in line are ACTIVE, the rest still wait in the same order.
    assert [passes[t].status for t in line] == ["ACTIVE"] * cap + ["WAITING"] * (joined - cap)
    backend = get_backend()
    from queue_app.backends.database import _record

    positions = [backend.position(_record(passes[t])) for t in line[cap:]]
    assert positions == list(range(1, joined - cap + 1))
    # A tick killed before recording its snapshot admitted nobody it did not record... or
    # recorded nothing at all; never more admissions counted than passes admitted.
    admitted = sum(QueueSnapshot.objects.filter(concert=concert).values_list("admitted", flat=True))
    assert admitted <= cap


def test_sweeper_killed_mid_sweep(db_settings, env, processes):
    concert = ConcertFactory()
    performances = [make_performance(concert, days=d) for d in range(2, 32)]
    now = timezone.now()
    users = _users(40)
    lapsed, live = [], []
    for i, seat in enumerate(Seat.objects.filter(performance__in=performances).order_by("pk")):
        user = users[i % len(users)]
        if i % 8 == 0:
            live.append(
                Reservation(
                    user=user,
                    performance_id=seat.performance_id,
                    seat=seat,
                    price=seat.price,
                    status="HELD",
                    held_until=now + dt.timedelta(minutes=5),
                )
            )
        else:
            lapsed.append(
                Reservation(
                    user=user,
                    performance_id=seat.performance_id,
                    seat=seat,
                    price=seat.price,
                    status="HELD",
                    held_until=now - dt.timedelta(seconds=1 + i),
                )
            )
    Reservation.objects.bulk_create(lapsed + live)
    live_ids = set(Reservation.objects.filter(held_until__gt=now).values_list("pk", flat=True))
    payers = list(Reservation.objects.filter(pk__in=live_ids).select_related("user").order_by("pk")[:10])
    for reservation in payers:
        wallet_services.wallet_credit(
            user=reservation.user, amount=reservation.price, kind="CHARGE", reference=f"seed:{reservation.pk}"
        )

    # The first sweeper is slow (at least 13 s for the whole sweep), so the payments below
    # happen, and the kill lands, mid-sweep even on a loaded machine; the second one is quick.
    slow_sweep = ["-m", "tests.reliability.worker", "sweep", "--batch", "5", "--pause", "0.05"]
    sweep = ["-m", "tests.reliability.worker", "sweep", "--batch", "5", "--pause", "0.005"]

    def expired() -> int:
        return Reservation.objects.filter(status="EXPIRED").count()

    worker = processes.start("sweeper-a", slow_sweep, env())
    wait_until(lambda: expired() > 0, timeout=30, what="the sweep to start")
    # Fans pay for live holds while the sweep runs (the sweeper skips locked rows).
    paid = []
    for reservation in payers[:5]:
        payment_services.payment_pay(user_id=reservation.user_id, reservation_id=reservation.pk)
        paid.append(reservation.pk)
    time.sleep(random.uniform(0.0, 0.1))
    worker.kill9()
    assert expired() < len(lapsed), "the sweep finished before the kill; make it slower"
    worker = processes.start("sweeper-b", sweep, env())
    for reservation in payers[5:]:
        payment_services.payment_pay(user_id=reservation.user_id, reservation_id=reservation.pk)
        paid.append(reservation.pk)
    wait_until(lambda: expired() == len(lapsed), timeout=60, what="the sweep to finish")
    worker.kill9()

    statuses = dict(Reservation.objects.values_list("pk", "status"))
    assert sorted(pk for pk, s in statuses.items() if s == "EXPIRED") == sorted(
        pk for pk in statuses if pk not in live_ids
    ), "a lapsed hold was missed or a live hold expired"
    assert {statuses[pk] for pk in paid} == {"CONFIRMED"}
    assert {statuses[pk] for pk in live_ids - set(paid)} == {"HELD"}


@pytest.fixture
def real_broker(monkeypatch):
    """Tasks go to django-q2's queue table, for a real cluster to take (not run inline)."""
    monkeypatch.setattr(Conf, "SYNC", False)


def test_cluster_and_dispatcher_killed_mid_outbox(db_settings, env, processes, real_broker):
    # Real payments: their confirmation emails are queued for the cluster after commit.
    concert = ConcertFactory()
    performance = make_performance(concert, days=4)
    fans = [UserFactory() for _ in range(3)]
    for fan in fans:
        wallet_services.wallet_credit(user=fan, amount=1_000_000, kind="CHARGE", reference=f"seed:{fan.pk}")
    for n in range(12):
        fan = fans[n % 3]
        hold = concert_services.seat_hold(
            user_id=fan.pk, concert_id=concert.pk, date=performance.date, seat_number=n + 1
        )
        payment_services.payment_pay(user_id=fan.pk, reservation_id=hold.pk)
    from django_q.models import OrmQ

    assert OrmQ.objects.count() == 12
    # And a backlog for the dispatcher, as after a mail-server outage.
    due = timezone.now()
    OutboxEmail.objects.bulk_create(
        OutboxEmail(
            key=f"backlog:{i}", to=f"fan{i}@example.com", subject=f"Backlog {i}", text="Hello.", next_attempt_at=due
        )
        for i in range(400)
    )
    sink = env.mail_dir

    def sent_by(proc) -> int:
        return sum(1 for group, _ in delivered(sink) if group == proc.pid)

    # 1. The cluster takes the queued tasks; its first send stops right after the mail
    #    server took the message, before the outbox row committed as SENT: killed there.
    (sink / "pause-after-send").touch()
    cluster = processes.start("qcluster-a", ["manage.py", "qcluster"], env(Q_WORKERS="2"))
    paused = wait_until(
        lambda: (sink / "paused").exists() and (sink / "paused").read_text(),
        timeout=60,
        what="the cluster's paused send",
    )
    group, paused_message = paused.split(" ", 1)
    assert int(group) == cluster.pid
    cluster.kill9()

    # 2. Two dispatchers on the backlog, each killed at a random moment while sending.
    # Paced (5 emails, then 50 ms), so neither finishes the backlog before the other starts.
    dispatch = ["-m", "tests.reliability.worker", "outbox", "--batch", "5", "--pause", "0.05"]
    dispatchers = [processes.start(f"dispatcher-{i}", dispatch, env()) for i in "ab"]
    wait_until(lambda: all(sent_by(p) >= 10 for p in dispatchers), timeout=60, what="both dispatchers sending")
    for proc in dispatchers:
        time.sleep(random.uniform(0.0, 0.15))
        proc.kill9()
    assert OutboxEmail.objects.filter(status="PENDING").exists(), "all sent before the kills; enlarge the backlog"

    # 3. Started again (the cluster, and the dispatcher django-q2 runs every minute).
    processes.start("qcluster-b", ["manage.py", "qcluster"], env(Q_WORKERS="2"))
    final = processes.start("dispatcher-c", ["-m", "tests.reliability.worker", "outbox", "--until-idle"], env())
    final.popen.wait(timeout=120)
    assert final.popen.returncode == 0, final.output()

    rows = list(OutboxEmail.objects.all())
    assert len(rows) == 412 and {r.status for r in rows} == {"SENT"}
    from payments.outbox import message_id

    counts: dict[str, int] = {}
    for _, mid in delivered(sink):
        counts[mid] = counts.get(mid, 0) + 1
    assert set(counts) == {message_id(r) for r in rows}, "an email was lost, or something unknown was sent"
    # The one caught in the window went out again, as the same message (same Message-ID).
    assert counts[paused_message] == 2
    repeats = {mid: n for mid, n in counts.items() if n > 1}
    assert all(n == 2 for n in repeats.values()), repeats
    # Any other repeat needs a random kill to land in the same window: at most one per
    # sender killed (the cluster's other worker, two dispatchers).
    assert len(repeats) <= 4, repeats
