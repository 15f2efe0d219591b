"""Waiting-room behaviour, run against both backends on real PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import redis as redis_lib
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from queue_app import services
from queue_app.backends import get_backend
from queue_app.backends.database import prequeue_order
from queue_app.models import ConcertQueue
from queue_app.selectors import queue_config_cache_clear
from tests.concurrency import raise_first_error, run_concurrently
from tests.core.test_errors import assert_problem
from tests.factories import ConcertFactory, UserFactory, make_performance
from tests.queue_app.conftest import TEST_REDIS_URL

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def join(user, concert, **headers):
    return client_for(user).post(f"/api/v1/concerts/{concert.pk}/queue/tokens", **headers)


def status_of(token):
    return APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=str(token))


def set_queue(concert, **fields):
    ConcertQueue.objects.update_or_create(concert=concert, defaults=fields)
    queue_config_cache_clear()


def fill_line(concert, n, cap=0):
    """n users waiting (nobody admitted: cap 0)."""
    set_queue(concert, max_active=cap)
    users = [UserFactory() for _ in range(n)]
    tokens = [join(u, concert).json()["token"] for u in users]
    return users, tokens


def test_first_user_is_active_at_once_when_there_is_room(queue_backend):
    concert = ConcertFactory()
    res = join(UserFactory(), concert)
    assert res.status_code == 201
    body = res.json()
    assert set(body) == {
        "token",
        "concert_id",
        "status",
        "position",
        "ahead",
        "eta_seconds",
        "poll_after_seconds",
        "expires_at",
    }
    assert body["status"] == "ACTIVE"
    assert body["position"] is None and body["ahead"] is None and body["eta_seconds"] is None
    assert uuid.UUID(body["token"]).version == 4
    assert body["expires_at"].endswith("+09:00")


def test_line_forms_when_cap_is_full_and_repeat_returns_same_pass(queue_backend):
    concert = ConcertFactory()
    set_queue(concert, max_active=1)
    join(UserFactory(), concert)
    user = UserFactory()
    first = join(user, concert)
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "WAITING"
    assert body["position"] == 1 and body["ahead"] == 0
    assert isinstance(body["eta_seconds"], int)
    assert body["poll_after_seconds"] >= 1
    again = join(user, concert, HTTP_X_QUEUE_TOKEN=body["token"])
    assert again.status_code == 200
    assert again.json()["token"] == body["token"]
    assert join(user, concert).json()["token"] == body["token"]


def test_join_unknown_concert_and_anonymous(queue_backend, api):
    assert_problem(join(UserFactory(), type("C", (), {"pk": 999999})()), 404, "CONCERT_NOT_FOUND")
    concert = ConcertFactory()
    assert_problem(api.post(f"/api/v1/concerts/{concert.pk}/queue/tokens"), 401, "NOT_AUTHENTICATED")


def test_expired_pass_gets_a_new_one_at_the_back(queue_backend, settings):
    concert = ConcertFactory()
    users, tokens = fill_line(concert, 3)
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=settings.QUEUE_WAIT_IDLE_SECONDS + 5)):
        # Everyone idled out; user 0 comes back with the old pass and goes to the back.
        assert_problem(status_of(tokens[0]), 410, "QUEUE_TOKEN_EXPIRED")
        status_of(tokens[1])  # expired too (same idle time)
        res = join(users[0], concert, HTTP_X_QUEUE_TOKEN=tokens[0])
        assert res.status_code == 201
        assert res.json()["token"] != tokens[0]


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_joins_of_one_user_make_one_pass(queue_backend):
    concert = ConcertFactory()
    set_queue(concert, max_active=0)
    user = UserFactory()

    def attempt(_):
        res = join(user, concert)
        return res.status_code, res.json()["token"]

    results = raise_first_error(run_concurrently(50, attempt))
    assert {token for _, token in results} == {results[0][1]}
    assert sorted(code for code, _ in results) == [200] * 49 + [201]
    assert get_backend().counts(concert_id=concert.pk, now=timezone.now()) == (1, 0)


@pytest.mark.django_db(transaction=True)
def test_fifo_of_500_concurrent_joiners(queue_backend, settings):
    settings.QUEUE_WAIT_IDLE_SECONDS = 3600  # nobody idles out however slow the machine is
    concert = ConcertFactory()
    set_queue(concert, max_active=0)
    users = [UserFactory() for _ in range(500)]

    def attempt(i):
        return join(users[i], concert).json()["token"]

    tokens = raise_first_error(run_concurrently(len(users), attempt, workers=16))
    positions = {t: status_of(t).json()["position"] for t in tokens}
    assert sorted(positions.values()) == list(range(1, 501))
    # Admission follows the line exactly: each batch is the next 100 positions.
    set_queue(concert, max_active=500, admit_batch=100)
    by_position = sorted(tokens, key=positions.get)
    for batch in range(5):
        services.queue_tick(concert_id=concert.pk)
        active = {t for t in tokens if status_of(t).json()["status"] == "ACTIVE"}
        assert active == set(by_position[: (batch + 1) * 100])


def test_positions_exact_after_leave_and_idle_expiry(queue_backend, settings):
    concert = ConcertFactory()
    users, tokens = fill_line(concert, 5)
    assert [status_of(t).json()["position"] for t in tokens] == [1, 2, 3, 4, 5]
    # Leaving stops counting at once.
    assert client_for(users[1]).delete(f"/api/v1/queue/tokens/{tokens[1]}").status_code == 204
    assert_problem(status_of(tokens[1]), 410, "QUEUE_TOKEN_EXPIRED")
    assert status_of(tokens[2]).json()["position"] == 2
    assert status_of(tokens[4]).json()["ahead"] == 3
    # User 0 stops polling; the others keep polling. After one tick past the idle
    # limit, user 0 no longer counts.
    start = timezone.now()
    step = settings.QUEUE_WAIT_IDLE_SECONDS // 2 + 1
    with time_machine.travel(start + dt.timedelta(seconds=step), tick=False):
        for t in tokens[2:]:
            status_of(t)
    with time_machine.travel(start + dt.timedelta(seconds=2 * step), tick=False):
        for t in tokens[2:]:
            status_of(t)
        services.queue_tick(concert_id=concert.pk)
        assert_problem(status_of(tokens[0]), 410, "QUEUE_TOKEN_EXPIRED")
        assert [status_of(t).json()["position"] for t in tokens[2:]] == [1, 2, 3]


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_never_exceed_cap_or_admit_twice(queue_backend):
    concert = ConcertFactory()
    _, tokens = fill_line(concert, 60)
    set_queue(concert, max_active=25, admit_batch=20)

    for _ in range(3):
        admitted = raise_first_error(run_concurrently(2, lambda i: services.queue_tick(concert_id=concert.pk).admitted))
        waiting, active = get_backend().counts(concert_id=concert.pk, now=timezone.now())
        assert active <= 25
        assert waiting + active == 60
    assert active == 25
    statuses = [status_of(t).json() for t in tokens]
    assert sum(s["status"] == "ACTIVE" for s in statuses) == 25
    # The 25 admitted are exactly the first 25 in line.
    assert all(s["status"] == "ACTIVE" for s in statuses[:25])
    assert [s["position"] for s in statuses[25:]] == list(range(1, 36))
    assert sum(admitted) <= 20


def test_paused_concert_admits_nobody_and_admit_now_respects_cap(queue_backend):
    concert = ConcertFactory()
    _, tokens = fill_line(concert, 10)
    set_queue(concert, max_active=4, admit_batch=10, paused=True)
    assert services.queue_tick(concert_id=concert.pk).admitted == 0
    assert services.queue_admit_now(concert_id=concert.pk, count=3) == 3
    assert services.queue_admit_now(concert_id=concert.pk, count=3) == 1
    assert [status_of(t).json()["status"] for t in tokens[:5]] == ["ACTIVE"] * 4 + ["WAITING"]
    assert services.queue_expire_all(concert_id=concert.pk) == 10
    assert get_backend().counts(concert_id=concert.pk, now=timezone.now()) == (0, 0)


def test_expired_passes_are_refused_before_any_sweep(queue_backend, settings):
    concert = ConcertFactory()
    make_performance(concert)
    user = UserFactory()
    token = join(user, concert).json()["token"]
    client = client_for(user)
    dates = f"/api/v1/concerts/{concert.pk}/dates"
    assert client.get(dates, HTTP_X_QUEUE_TOKEN=token).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=settings.QUEUE_ACTIVE_TTL_SECONDS + 1)):
        assert_problem(status_of(token), 410, "QUEUE_TOKEN_EXPIRED")
        assert_problem(client.get(dates, HTTP_X_QUEUE_TOKEN=token), 403, "QUEUE_TOKEN_NOT_ACTIVE")


def test_gate_denies_waiting_expired_foreign_and_other_concert_passes(queue_backend):
    concert, other = ConcertFactory(), ConcertFactory()
    make_performance(concert)
    set_queue(concert, max_active=1)
    owner, waiter, stranger = UserFactory(), UserFactory(), UserFactory()
    active = join(owner, concert).json()["token"]
    waiting = join(waiter, concert).json()["token"]
    elsewhere = join(owner, other).json()["token"]
    dates = f"/api/v1/concerts/{concert.pk}/dates"
    assert client_for(owner).get(dates, HTTP_X_QUEUE_TOKEN=active).status_code == 200
    # The cookie works like the header (pages).
    cookie_client = client_for(owner)
    cookie_client.cookies["queue_token"] = active
    assert cookie_client.get(dates).status_code == 200
    denied = [
        (waiter, waiting),  # WAITING
        (stranger, active),  # someone else's pass
        (owner, elsewhere),  # a pass for another concert
        (owner, str(uuid.uuid4())),  # no such pass
        (owner, "garbage"),
        (owner, ""),
    ]
    for user, token in denied:
        assert_problem(client_for(user).get(dates, HTTP_X_QUEUE_TOKEN=token), 403, "QUEUE_TOKEN_NOT_ACTIVE")
    # Authentication is checked before the gate.
    assert_problem(APIClient().get(dates, HTTP_X_QUEUE_TOKEN=active), 401, "NOT_AUTHENTICATED")
    # Once given up, the pass no longer opens the gate.
    assert client_for(owner).delete(f"/api/v1/queue/tokens/{active}").status_code == 204
    assert_problem(client_for(owner).get(dates, HTTP_X_QUEUE_TOKEN=active), 403, "QUEUE_TOKEN_NOT_ACTIVE")


def test_status_errors(queue_backend):
    client = APIClient()
    assert_problem(client.get("/api/v1/queue/status"), 400, "VALIDATION_ERROR")
    assert_problem(client.get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN="nope"), 400, "VALIDATION_ERROR")
    assert_problem(status_of(uuid.uuid4()), 404, "QUEUE_TOKEN_NOT_FOUND")


def test_delete_is_owner_only(queue_backend):
    concert = ConcertFactory()
    owner = UserFactory()
    token = join(owner, concert).json()["token"]
    assert_problem(client_for(UserFactory()).delete(f"/api/v1/queue/tokens/{token}"), 404, "QUEUE_TOKEN_NOT_FOUND")
    assert status_of(token).json()["status"] == "ACTIVE"
    assert_problem(APIClient().delete(f"/api/v1/queue/tokens/{token}"), 401, "NOT_AUTHENTICATED")
    assert_problem(client_for(owner).delete("/api/v1/queue/tokens/not-a-uuid"), 400, "VALIDATION_ERROR")
    assert client_for(owner).delete(f"/api/v1/queue/tokens/{token}").status_code == 204


def test_active_pass_is_extended_to_cover_a_hold_and_ended_after_paying(queue_backend):
    concert = ConcertFactory()
    user = UserFactory()
    token = join(user, concert).json()["token"]
    expires = dt.datetime.fromisoformat(status_of(token).json()["expires_at"])
    until = expires + dt.timedelta(minutes=3)
    assert services.pass_extend(user_id=user.pk, concert_id=concert.pk, until=until)
    assert dt.datetime.fromisoformat(status_of(token).json()["expires_at"]) == until.replace(
        microsecond=until.microsecond
    )
    # Never shortened.
    services.pass_extend(user_id=user.pk, concert_id=concert.pk, until=expires)
    assert dt.datetime.fromisoformat(status_of(token).json()["expires_at"]) == until
    assert services.pass_end(user_id=user.pk, concert_id=concert.pk)
    assert_problem(status_of(token), 410, "QUEUE_TOKEN_EXPIRED")


def test_prequeue_draw_is_a_seeded_permutation_that_replays(queue_backend):
    opens = timezone.now() + dt.timedelta(minutes=5)
    concert = ConcertFactory(booking_opens_at=opens)
    users = [UserFactory() for _ in range(30)]
    tokens = [join(u, concert).json() for u in users]
    for body in tokens:
        assert body["status"] == "WAITING"
        assert body["position"] is None and body["ahead"] is None
        assert 290 <= body["eta_seconds"] <= 300
    # Nobody is admitted before opening, however often the ticker runs.
    services.queue_tick(concert_id=concert.pk)
    assert get_backend().counts(concert_id=concert.pk, now=timezone.now())[1] == 0
    # Pre-queue passes poll like everyone else until the opening.
    for step in range(50, 300, 50):
        with time_machine.travel(timezone.now() + dt.timedelta(seconds=step), tick=False):
            assert {status_of(b["token"]).json()["position"] for b in tokens} == {None}
    with time_machine.travel(opens + dt.timedelta(seconds=1), tick=False):
        latecomer = join(UserFactory(), concert).json()
        set_queue(concert, max_active=0)
        polled = {b["token"]: status_of(b["token"]).json() for b in tokens}
        positions = [polled[b["token"]]["position"] for b in tokens]
        assert sorted(positions) == list(range(1, 31))
        assert status_of(latecomer["token"]).json()["position"] == 31
        queue = ConcertQueue.objects.get(concert=concert)
        assert queue.prequeue_seed is not None and queue.prequeue_size == 30
        # Replay: the recorded seed and the arrival order give the same line.
        replay = prequeue_order([b["token"] for b in tokens], queue.prequeue_seed)
        assert [str(t) for t in replay] == sorted(polled, key=lambda t: polled[t]["position"])


def test_prequeue_order_is_a_permutation():
    arrivals = list(range(100))
    drawn = prequeue_order(arrivals, 42)
    assert sorted(drawn) == arrivals and drawn != arrivals
    assert prequeue_order(arrivals, 42) == drawn
    assert prequeue_order(arrivals, 43) != drawn


@pytest.mark.django_db(transaction=True)
def test_burst_on_an_empty_concert_activates_exactly_the_cap(queue_backend):
    concert = ConcertFactory()
    set_queue(concert, max_active=5)
    users = [UserFactory() for _ in range(20)]
    bodies = raise_first_error(run_concurrently(len(users), lambda i: join(users[i], concert).json()))
    assert sum(b["status"] == "ACTIVE" for b in bodies) == 5
    waiting = sorted(status_of(b["token"]).json()["position"] for b in bodies if b["status"] == "WAITING")
    assert waiting == list(range(1, 16))


def test_poll_keeps_a_waiting_pass_alive(queue_backend, settings):
    concert = ConcertFactory()
    _, tokens = fill_line(concert, 2)
    start = timezone.now()
    for i in range(1, 6):
        with time_machine.travel(start + dt.timedelta(seconds=i * settings.QUEUE_WAIT_IDLE_SECONDS // 2), tick=False):
            assert status_of(tokens[1]).json()["status"] == "WAITING"
            services.queue_tick(concert_id=concert.pk)
    with time_machine.travel(start + dt.timedelta(seconds=3 * settings.QUEUE_WAIT_IDLE_SECONDS), tick=False):
        assert_problem(status_of(tokens[0]), 410, "QUEUE_TOKEN_EXPIRED")
        assert status_of(tokens[1]).json()["position"] == 1


def test_eta_uses_observed_rate_then_configured(queue_backend, settings):
    settings.QUEUE_ADMIT_INTERVAL_SECONDS = 10
    concert = ConcertFactory()
    _, tokens = fill_line(concert, 30)
    set_queue(concert, admit_batch=5, max_active=0)
    # Configured: 5 per 10 s = 0.5/s, so position 30 is 60 s away.
    assert status_of(tokens[-1]).json()["eta_seconds"] == 60
    set_queue(concert, admit_batch=5, max_active=100)
    start = timezone.now()
    for i in range(3):
        with time_machine.travel(start + dt.timedelta(seconds=10 * i), tick=False):
            services.queue_tick(concert_id=concert.pk)
    queue_config_cache_clear()
    with time_machine.travel(start + dt.timedelta(seconds=20), tick=False):
        body = status_of(tokens[-1]).json()
    assert body["position"] == 15
    # Observed: 15 admitted over 20 s = 0.75/s -> 15 / 0.75 = 20 s.
    assert body["eta_seconds"] == 20


def test_purge_removes_only_old_ended_passes(queue_backend, settings):
    concert = ConcertFactory()
    users, tokens = fill_line(concert, 3)
    client_for(users[0]).delete(f"/api/v1/queue/tokens/{tokens[0]}")
    assert services.queue_purge() == 0
    later = timezone.now() + dt.timedelta(seconds=settings.QUEUE_RETENTION_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert services.queue_purge() == 1
        assert_problem(status_of(tokens[0]), 404, "QUEUE_TOKEN_NOT_FOUND")
        # Lapsed but not yet ended by a tick: still known, and refused as expired.
        assert_problem(status_of(tokens[1]), 410, "QUEUE_TOKEN_EXPIRED")


def test_pass_creation_is_rate_limited(queue_backend, settings):
    settings.RATE_LIMITS = True
    concert = ConcertFactory()
    user = UserFactory()
    codes = [join(user, concert).status_code for _ in range(30)]
    assert 429 not in codes
    res = join(user, concert)
    body = assert_problem(res, 429, "RATE_LIMITED")
    assert int(res["Retry-After"]) >= 1 and body["retry_after"] >= 1
    settings.RATE_LIMITS = False
    assert join(user, concert).status_code == 200


def test_poll_is_one_statement_on_the_database_backend(settings, django_assert_num_queries):
    """The hottest path: the pass and the index-only count of those ahead, in one
    statement (a write only when the idle deadline or the advice must move)."""
    settings.QUEUE_BACKEND = "database"
    concert = ConcertFactory()
    _, tokens = fill_line(concert, 5)
    client = APIClient()
    status_of(tokens[3])  # warms the settings cache and records the advice
    with django_assert_num_queries(1):
        assert client.get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=tokens[3]).json()["position"] == 4


def test_poll_is_one_redis_round_trip_and_no_sql(settings, django_assert_num_queries, monkeypatch):
    """A warm poll on the Redis backend is one script call: the pass, its rank and the
    idle deadline, whatever the line's length; no SQL."""
    settings.QUEUE_BACKEND = "redis"
    settings.QUEUE_REDIS_URL = TEST_REDIS_URL
    redis_lib.Redis.from_url(TEST_REDIS_URL).flushdb()
    concert = ConcertFactory()
    _, tokens = fill_line(concert, 5)
    client = APIClient()
    status_of(tokens[3])  # the token's concert is now known to this process; the advice recorded
    calls = []
    real = get_backend().client.execute_command
    monkeypatch.setattr(get_backend().client, "execute_command", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    with django_assert_num_queries(0):
        assert client.get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=tokens[3]).json()["position"] == 4
    assert calls == ["EVALSHA"]


def test_a_steady_waiter_is_kept_alive_by_its_polls_alone(queue_backend, settings):
    """The idle deadline moves out as polls come in (by the poll itself on Redis, by a
    touch on the database) and the pass is never dropped while it polls on time."""
    settings.QUEUE_WAIT_IDLE_SECONDS = 30
    concert = ConcertFactory()
    _, tokens = fill_line(concert, 3)
    start = timezone.now()
    deadlines = []
    for step in range(6):  # every 20 s: longer than the 30 s idle span in all, never idle 30 s
        with time_machine.travel(start + dt.timedelta(seconds=20 * step), tick=False):
            body = status_of(tokens[2]).json()
            deadlines.append(dt.datetime.fromisoformat(body["expires_at"]))
            services.queue_tick(concert_id=concert.pk)
    # Still waiting; the two ahead, who never polled, idled out and stopped counting.
    assert body["status"] == "WAITING" and body["position"] == 1
    assert deadlines == sorted(deadlines) and deadlines[-1] == start + dt.timedelta(seconds=100 + 30)
    # Silent for longer than the span: dropped by the next tick, refused at once.
    with time_machine.travel(start + dt.timedelta(seconds=100 + 31), tick=False):
        assert_problem(status_of(tokens[2]), 410, "QUEUE_TOKEN_EXPIRED")


def test_the_poll_skips_the_page_middleware_but_not_the_host_check(queue_backend):
    concert = ConcertFactory()
    _, tokens = fill_line(concert, 2)
    res = status_of(tokens[1])
    assert res.status_code == 200 and res["Content-Type"] == "application/json"
    assert not res.cookies and "Vary" not in res  # no session, no CSRF cookie, no content negotiation
    assert res["X-Content-Type-Options"] == "nosniff" and res["X-Request-ID"]
    assert int(res["Content-Length"]) == len(res.content)
    bad_host = APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=tokens[1], HTTP_HOST="evil.example")
    assert_problem(bad_host, 400, "VALIDATION_ERROR")
    # Other methods still go through DRF, as problems.
    assert_problem(APIClient().post("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=tokens[1]), 405, "METHOD_NOT_ALLOWED")
    assert_problem(APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN="nope"), 400, "VALIDATION_ERROR")


def test_gated_reads_are_constant_in_queries(settings, django_assert_max_num_queries):
    settings.QUEUE_BACKEND = "database"
    concert = ConcertFactory()
    performance = make_performance(concert)
    user = UserFactory()
    client = client_for(user)
    token = join(user, concert).json()["token"]
    # Auth token lookup is skipped by force_authenticate; the gate's pass lookup, the
    # concert, then one query for the dates and one for the seat map.
    with django_assert_max_num_queries(3):
        client.get(f"/api/v1/concerts/{concert.pk}/dates", HTTP_X_QUEUE_TOKEN=token)
    with django_assert_max_num_queries(4):
        client.get(f"/api/v1/concerts/{concert.pk}/dates/{performance.date}/seats", HTTP_X_QUEUE_TOKEN=token)
