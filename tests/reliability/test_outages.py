"""Dependencies going away under a running server (a real subprocess):

- PostgreSQL cut off (through a TCP proxy, so the suite's own database is never
  touched) while a request is in flight and while idle: clean 503 problem JSON with
  Retry-After, and the same server process serves again once it is back;
- Redis (the waiting-room backend, the cache and the broker) stopped: the waiting
  room answers 503, the catalogue, wallet, login and charges still work, and the
  service recovers when Redis returns (the line itself is gone: no persistence);
- a row lock held too long by someone else: a hold answers 503 within lock_timeout.
"""

from __future__ import annotations

import threading

import pytest
from rest_framework.authtoken.models import Token

from concerts.locking import _int4
from concerts.models import Seat
from tests.factories import ConcertFactory, UserFactory, admitted_http_fan, make_performance
from tests.reliability.procs import (
    RedisServer,
    TcpProxy,
    assert_unavailable,
    connect,
    http,
    lock_waiters,
    start_web,
)
from tools.procs import database_url, wait_until
from wallet import services as wallet_services
from wallet.models import Charge

pytestmark = pytest.mark.slow


def _fan(*, funds: int = 0):
    user = UserFactory()
    token = Token.objects.create(user=user)
    if funds:
        wallet_services.wallet_credit(user=user, amount=funds, kind="CHARGE", reference=f"seed:{user.pk}")
    return user, {"Authorization": f"Token {token.key}"}


def test_database_cut_while_requests_are_in_flight(db_settings, env, processes):
    concert = ConcertFactory()
    user, auth = _fan()
    proxy = TcpProxy(int(db_settings.get("PORT") or 5432)).start()
    try:
        # lock_timeout well above the test's waits: the 503 below must come from the cut.
        web, base = start_web(
            processes,
            env(DATABASE_URL=database_url(db_settings, port=proxy.port), LOCK_TIMEOUT_MS="30000"),
        )
        assert http("GET", f"{base}/api/v1/concerts").status == 200
        assert http("GET", f"{base}/api/v1/wallet", headers=auth).status == 200

        # 1. In flight: a charge waits for the wallet's row lock (held here) when the link drops.
        wallet_services.wallet_get_or_create(user=user)
        replies = []
        charge = threading.Thread(
            target=lambda: replies.append(
                http("POST", f"{base}/api/v1/wallet/charges", json_body={"amount": 5000}, headers=auth)
            )
        )
        with connect(db_settings) as holder:
            holder.execute("SELECT 1 FROM wallet_wallet WHERE user_id = %s FOR UPDATE", [user.pk])
            charge.start()
            wait_until(lambda: lock_waiters(db_settings, "%wallet_wallet%"), timeout=15, what="the charge to wait")
            proxy.cut()
            charge.join(timeout=15)
            holder.rollback()
        assert replies, "the in-flight request never answered"
        assert_unavailable(replies[0])
        assert replies[0].seconds < 10
        assert Charge.objects.count() == 0  # its transaction died with the connection

        # 2. While the database is away: every kind of request is a fast, clean 503.
        for method, path, headers, body in [
            ("GET", "/api/v1/concerts", {}, None),
            ("GET", f"/api/v1/concerts/{concert.pk}", {}, None),
            ("GET", "/api/v1/wallet", auth, None),
            ("POST", "/api/v1/auth/token", {}, {"username": user.username, "password": "correct horse battery"}),
            ("POST", f"/api/v1/concerts/{concert.pk}/queue/tokens", auth, None),
        ]:
            reply = http(method, base + path, headers=headers, json_body=body)
            assert_unavailable(reply)
            assert reply.seconds < 6, (path, reply.seconds)
        page = http("GET", f"{base}/")
        assert page.status == 503 and page.header("retry-after"), (page.status, page.body)

        # 3. Back: the same process serves again, first try (stale connections are health-checked).
        proxy.restore()
        assert http("GET", f"{base}/api/v1/concerts").status == 200
        assert http("POST", f"{base}/api/v1/wallet/charges", json_body={"amount": 5000}, headers=auth).status == 201

        # 4. A blip between two requests: the persistent connection died while idle.
        proxy.cut()
        proxy.restore()
        assert http("GET", f"{base}/api/v1/wallet", headers=auth).status == 200
        assert web.alive(), "the server had to be restarted"
    finally:
        proxy.stop()


def test_redis_stopped_and_restarted(db_settings, env, processes):
    redis = RedisServer(processes).start()
    concert = ConcertFactory()
    make_performance(concert, days=3)
    user, auth = _fan(funds=100_000)
    _other, other_auth = _fan()
    # REDIS_URL: the queue, the cache (rate limits, on here) and django-q2's broker all use it.
    web, base = start_web(processes, env(REDIS_URL=redis.url, QUEUE_BACKEND="redis", RATE_LIMITS="on"))

    joined = http("POST", f"{base}/api/v1/concerts/{concert.pk}/queue/tokens", headers=auth)
    assert joined.status == 201, joined.body
    pass_token = joined.body["token"]
    assert http("GET", f"{base}/api/v1/queue/status", headers={"X-Queue-Token": pass_token}).status == 200

    redis.stop()
    # The waiting room and the gate: 503 problem JSON with Retry-After, quickly.
    for method, path, headers in [
        ("POST", f"/api/v1/concerts/{concert.pk}/queue/tokens", other_auth),
        ("GET", "/api/v1/queue/status", {"X-Queue-Token": pass_token}),
        ("DELETE", f"/api/v1/queue/tokens/{pass_token}", auth),
        ("GET", f"/api/v1/concerts/{concert.pk}/dates", {**auth, "X-Queue-Token": pass_token}),
    ]:
        reply = http(method, base + path, headers=headers)
        assert_unavailable(reply)
        assert reply.seconds < 6, (path, reply.seconds)
    # Everything else still works (rate limits fail open while the cache is away).
    assert http("GET", f"{base}/api/v1/concerts").status == 200
    assert http("GET", f"{base}/api/v1/wallet", headers=auth).status == 200
    assert http("POST", f"{base}/api/v1/wallet/charges", json_body={"amount": 1000}, headers=auth).status == 201
    login = {"username": user.username, "password": "correct horse battery"}
    assert http("POST", f"{base}/api/v1/auth/token", json_body=login).status == 200
    assert http("GET", f"{base}/").status == 200
    assert http("GET", f"{base}/concerts/{concert.pk}/").status == 200

    # Redis back, empty (no persistence): the old pass is gone, joining again works.
    redis.start()
    gone = http("GET", f"{base}/api/v1/queue/status", headers={"X-Queue-Token": pass_token})
    assert gone.status == 404 and gone.body["code"] == "QUEUE_TOKEN_NOT_FOUND", gone.body
    again = http("POST", f"{base}/api/v1/concerts/{concert.pk}/queue/tokens", headers=auth)
    assert again.status == 201 and again.body["status"] == "ACTIVE", again.body
    assert http("POST", f"{base}/api/v1/concerts/{concert.pk}/queue/tokens", headers=other_auth).status == 201
    assert web.alive()


@pytest.mark.parametrize("lock", ["seat row", "hold-limit advisory lock"])
def test_lock_held_too_long_is_a_prompt_503(lock, db_settings, env, processes):
    web = hold_while_locked(lock, db_settings, processes, env(LOCK_TIMEOUT_MS="1000"))
    assert web.alive()


def hold_while_locked(lock: str, db_settings: dict, processes, server_env: dict[str, str]):
    """A hold while another session keeps its seat row (or the fan's hold-limit lock) locked,
    on a server with a 1 s LOCK_TIMEOUT_MS: a 503 after the timeout, not a hang, then the hold
    succeeds once the lock is gone. Returns the server's process."""
    concert = ConcertFactory()
    performance = make_performance(concert, days=3)
    user, headers = admitted_http_fan(concert)
    seat = Seat.objects.get(performance=performance, number=7)
    web, base = start_web(processes, server_env)
    hold = {"concert_id": concert.pk, "date": performance.date.isoformat(), "seat_number": 7}
    assert http("GET", f"{base}/api/v1/concerts").status == 200  # warm: pooled connections exist

    with connect(db_settings) as holder:
        if lock == "seat row":
            holder.execute("SELECT 1 FROM concerts_seat WHERE id = %s FOR UPDATE", [seat.pk])
        else:
            holder.execute("SELECT pg_advisory_xact_lock(%s::int4, %s::int4)", [_int4(concert.pk), _int4(user.pk)])
        reply = http("POST", f"{base}/api/v1/reservations", json_body=hold, headers=headers, timeout=30)
        holder.rollback()
    assert_unavailable(reply)
    assert 0.9 <= reply.seconds < 4, reply.seconds  # lock_timeout (1 s), not a hang
    reply = http("POST", f"{base}/api/v1/reservations", json_body=hold, headers=headers)
    assert reply.status == 201, reply.body
    return web
