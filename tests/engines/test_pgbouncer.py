"""Booking through a real transaction-pooling PgBouncer (`tests/engines/pgbouncer.py`):
web servers and the admission ticker whose only way to the database is the pooler, with
fewer server connections than clients, so consecutive transactions of one client land on
different server sessions. Every invariant of the direct path holds there too.

`DB_POOLER=transaction` is what makes it work: `lock_timeout` set inside each
transaction (a startup option would be refused, a session SET would stay with whichever
client's session it ran on), no server-side cursors, no prepared statements (PgBouncer
1.18 cannot carry them between server sessions); the advisory locks the booking takes
are transaction-scoped already.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.authtoken.models import Token

from concerts.models import Reservation
from core.integrity import integrity_problems
from payments.models import Payment
from queue_app.models import ConcertQueue, QueuePass, QueueSnapshot
from queue_app.selectors import queue_config_cache_clear
from queue_app.services import pass_join, queue_admit_now
from tests.factories import ConcertFactory, UserFactory, make_performance
from tests.reliability.procs import ActiveMonitor, http, start_web
from tests.reliability.test_outages import hold_while_locked
from tools.procs import wait_until
from wallet.models import Wallet

pytestmark = pytest.mark.slow

FUNDS = 1_000_000


def _fans(n: int) -> list[tuple[object, dict[str, str]]]:
    fans = []
    for _ in range(n):
        user = UserFactory()
        fans.append((user, {"Authorization": f"Token {Token.objects.create(user=user).key}"}))
    return fans


def _transactions(pgbouncer, dbname: str) -> int:
    return sum(int(row["total_xact_count"]) for row in pgbouncer.admin("SHOW STATS") if row["database"] == dbname)


@pytest.mark.parametrize("lock", ["seat row", "hold-limit advisory lock"])
def test_lock_timeout_holds_in_every_transaction_through_the_pooler(
    lock, db_settings, pooled_env, processes, pgbouncer
):
    """The server sessions PgBouncer hands out have PostgreSQL's default lock_timeout (none):
    only the per-transaction SET LOCAL turns a long lock wait into a prompt 503."""
    before = _transactions(pgbouncer, db_settings["NAME"])
    web = hold_while_locked(lock, db_settings, processes, pooled_env(LOCK_TIMEOUT_MS="1000"))
    assert _transactions(pgbouncer, db_settings["NAME"]) > before
    assert web.alive()


def test_holds_payments_and_refunds_through_the_pooler_under_concurrency(db_settings, pooled_env, processes, pgbouncer):
    concert = ConcertFactory()
    performance = make_performance(concert, days=3)
    fans = _fans(30)
    tokens = {user.pk: pass_join(user_id=user.pk, concert_id=concert.pk)[0].token for user, _ in fans}
    queue_admit_now(concert_id=concert.pk, count=len(fans))
    bases = [start_web(processes, pooled_env())[1] for _ in range(3)]
    before = _transactions(pgbouncer, db_settings["NAME"])

    def call(i: int, method: str, path: str, body: object = None):
        user, auth = fans[i % len(fans)]
        headers = {**auth, "X-Queue-Token": str(tokens[user.pk])}
        return http(method, bases[i % len(bases)] + path, json_body=body, headers=headers, timeout=30)

    # Every fan charges the balance through the gateway, all at once.
    with ThreadPoolExecutor(len(fans)) as pool:
        charges = list(pool.map(lambda i: call(i, "POST", "/api/v1/wallet/charges", {"amount": FUNDS}), range(30)))
    assert [r.status for r in charges] == [201] * len(fans), [r.body for r in charges if r.status != 201]

    # 30 fans, 10 seats, three fans on each seat, all at once.
    start = threading.Barrier(len(fans))

    def hold(i: int):
        start.wait()
        seat = i % 10 + 1
        return call(
            i,
            "POST",
            "/api/v1/reservations",
            {"concert_id": concert.pk, "date": performance.date.isoformat(), "seat_number": seat},
        )

    with ThreadPoolExecutor(len(fans)) as pool:
        holds = list(pool.map(hold, range(len(fans))))
    assert all(r.status < 500 for r in holds), [r.body for r in holds if r.status >= 500]
    won = {i: r.body["id"] for i, r in enumerate(holds) if r.status == 201}
    assert len(won) == 10
    assert sorted(holds[i].body["seat_number"] for i in won) == list(range(1, 11))
    assert Reservation.objects.filter(performance=performance, status="HELD").count() == 10

    # Every winner pays twice at once: one payment each, no balance below zero.
    def pay(job: tuple[int, int]):
        i, rid = job
        return call(i, "POST", "/api/v1/payments", {"reservation_id": rid})

    with ThreadPoolExecutor(20) as pool:
        paid = list(pool.map(pay, [job for job in won.items() for _ in range(2)]))
    assert all(r.status < 500 for r in paid), [r.body for r in paid if r.status >= 500]
    assert sum(r.status == 201 for r in paid) == 10
    assert Payment.objects.filter(reservation_id__in=won.values()).count() == 10
    prices = dict(Payment.objects.filter(reservation_id__in=won.values()).values_list("reservation_id", "amount"))
    for i, rid in won.items():
        assert Wallet.objects.get(user=fans[i][0]).balance == FUNDS - prices[rid]

    # Every ticket refunded twice at once: one refund each, the money back exactly once.
    def refund(job: tuple[int, int]):
        i, rid = job
        return call(i, "DELETE", f"/api/v1/reservations/{rid}")

    with ThreadPoolExecutor(20) as pool:
        refunds = list(pool.map(refund, [job for job in won.items() for _ in range(2)]))
    assert sorted(r.status for r in refunds) == [204] * 10 + [409] * 10, [r.status for r in refunds]
    assert Reservation.objects.filter(pk__in=won.values(), status="REFUNDED").count() == 10
    for i in won:
        assert Wallet.objects.get(user=fans[i][0]).balance == FUNDS
    assert integrity_problems() == []
    assert _transactions(pgbouncer, db_settings["NAME"]) > before


def test_the_database_line_through_the_pooler(db_settings, pooled_env, processes, pgbouncer):
    """Joins from three servers at once and the admission ticker, all through the pooler:
    one pass per fan in arrival order, the cap never exceeded, positions unbroken."""
    cap, joined = 12, 48
    concert = ConcertFactory()
    ConcertQueue.objects.update_or_create(
        concert=concert, defaults={"paused": True, "max_active": cap, "admit_batch": 5}
    )
    queue_config_cache_clear()
    fans = _fans(joined)
    server_env = pooled_env(QUEUE_BACKEND="database")
    bases = [start_web(processes, server_env)[1] for _ in range(3)]
    path = f"/api/v1/concerts/{concert.pk}/queue/tokens"
    start = threading.Barrier(joined)

    def join(i: int):
        start.wait()
        first = http("POST", bases[i % 3] + path, headers=fans[i][1], timeout=30)
        again = http("POST", bases[(i + 1) % 3] + path, headers=fans[i][1], timeout=30)
        return first, again

    with ThreadPoolExecutor(joined) as pool:
        replies = list(pool.map(join, range(joined)))
    assert all(first.status == 201 and again.status == 200 for first, again in replies), [
        (a.status, b.status) for a, b in replies
    ]
    assert all(first.body["token"] == again.body["token"] for first, again in replies)
    assert QueuePass.objects.filter(concert=concert).count() == joined
    line = list(QueuePass.objects.filter(concert=concert).order_by("order_key").values_list("token", flat=True))

    ConcertQueue.objects.filter(concert=concert).update(paused=False)
    with ActiveMonitor(db_settings, concert.pk) as monitor:
        processes.start("ticker", ["manage.py", "queue_ticker", "--interval", "1"], server_env)
        wait_until(lambda: monitor.samples and monitor.samples[-1] >= cap, timeout=40, what="the cap to fill")
        # Two more ticks (each records its snapshot): they must admit nobody past the cap.
        ticks = QueueSnapshot.objects.filter(concert=concert).count()
        wait_until(
            lambda: QueueSnapshot.objects.filter(concert=concert).count() >= ticks + 2,
            timeout=20,
            what="two more ticks",
        )
    assert max(monitor.samples) == cap
    statuses = dict(QueuePass.objects.filter(concert=concert).values_list("token", "status"))
    assert [statuses[t] for t in line] == ["ACTIVE"] * cap + ["WAITING"] * (joined - cap)
    positions = [
        http("GET", f"{bases[k % 3]}/api/v1/queue/status", headers={"X-Queue-Token": str(t)}).body["position"]
        for k, t in enumerate(line[cap:])
    ]
    assert positions == list(range(1, joined - cap + 1))
