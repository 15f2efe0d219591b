"""What only the Redis backend has: its key layout, the token mapping, the pre-queue
draw applied by a script, purge by the caller's clock, and Redis outages as 503s.
The shared behaviour is in test_queue.py, run against both backends."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import redis as redis_lib
from django.utils import timezone
from rest_framework.test import APIClient

from queue_app.backends import redis as redis_backend
from queue_app.backends.base import ACTIVE, EXPIRED, WAITING, Admission
from queue_app.backends.database import prequeue_order
from queue_app.backends.redis import RedisBackend
from queue_app.exceptions import QueueUnavailable
from tests.core.test_errors import assert_problem
from tests.queue_app import conftest

CONCERT = 7


@pytest.fixture
def backend():
    url = conftest.TEST_REDIS_URL
    client = redis_lib.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    yield RedisBackend(url)
    client.flushdb()


@pytest.fixture
def now():
    return timezone.now()


def join(backend, user_id, now, *, prequeue=False, idle=60, concert_id=CONCERT, admit=None):
    return backend.join(
        concert_id=concert_id,
        user_id=user_id,
        now=now,
        prequeue=prequeue,
        waiting_until=now + dt.timedelta(seconds=idle),
        poll_after=1,
        admission=admit,
    ).record


def admission(now, *, batch=100, cap=100, concert_id=CONCERT):
    return Admission(concert_id=concert_id, batch=batch, cap=cap, active_until=now + dt.timedelta(minutes=10))


def test_every_concert_key_shares_the_hash_tag(backend, now):
    record = join(backend, 1, now)
    keys = set(backend.client.keys("*"))
    concert_keys = {k for k in keys if k.startswith("encore:q:{c7}:")}
    assert keys - concert_keys == {f"encore:qt:{record.token}", "encore:q:concerts"}
    assert f"encore:q:{{c7}}:pass:{record.token}" in concert_keys
    assert backend.client.get(f"encore:qt:{record.token}") == "7"
    assert backend.concerts_with_passes() == [CONCERT]


def test_order_follows_the_counter_and_times_round_trip_exactly(backend, now):
    records = [join(backend, user_id, now) for user_id in range(1, 4)]
    assert [r.order_key for r in records] == [1, 2, 3]
    assert [backend.position(r) for r in records] == [1, 2, 3]
    got = backend.get(records[0].token)
    assert got == records[0]
    assert got.expires_at == now + dt.timedelta(seconds=60)  # to the microsecond
    # The same user again: the same pass, not a second place.
    again = backend.join(concert_id=CONCERT, user_id=1, now=now, prequeue=False, waiting_until=now, poll_after=1)
    assert not again.created and again.record.token == records[0].token and again.position == 1
    # The token chosen for a new pass that was not needed leaves no mapping behind.
    assert len(backend.client.keys("encore:qt:*")) == 3


def test_undrawn_prequeue_pass_has_no_order_key_and_is_not_admissible(backend, now):
    early = [join(backend, user_id, now, prequeue=True) for user_id in range(1, 4)]
    late = join(backend, 9, now)
    assert [r.order_key for r in early] == [None, None, None]
    assert all(r.prequeue for r in early)
    # Positions count by arrival, drawn or not.
    assert [backend.position(r) for r in [*early, late]] == [1, 2, 3, 4]
    assert backend.admit_now(admission=admission(now), count=10, now=now) == 1
    assert backend.get(late.token).status == ACTIVE
    assert {backend.get(r.token).status for r in early} == {WAITING}


def test_draw_gives_prequeue_order_ahead_of_later_arrivals_and_is_idempotent(backend, now):
    early = [join(backend, user_id, now, prequeue=True) for user_id in range(1, 31)]
    late = join(backend, 99, now)
    assert backend.draw_prequeue(concert_id=CONCERT, seed=1234) == 30
    expected = prequeue_order([r.token for r in early], 1234)
    drawn = sorted((backend.get(r.token) for r in early), key=lambda r: r.order_key)
    assert [r.token for r in drawn] == expected
    assert [r.order_key for r in drawn] == list(range(-30, 0))
    assert [backend.position(r) for r in drawn] == list(range(1, 31))
    assert backend.position(late) == 31
    # Again: nothing left to draw, nobody moves.
    assert backend.draw_prequeue(concert_id=CONCERT, seed=999) == 0
    assert [backend.get(r.token).order_key for r in drawn] == list(range(-30, 0))
    # A later opening's pre-queue goes ahead of everyone drawn before.
    newcomer = join(backend, 100, now, prequeue=True)
    assert backend.draw_prequeue(concert_id=CONCERT, seed=5) == 1
    assert backend.get(newcomer.token).order_key == -31
    assert backend.position(backend.get(newcomer.token)) == 1
    # Drawn passes are admitted in the drawn order.
    assert backend.admit_now(admission=admission(now), count=3, now=now) == 3
    admitted = {r.token for r in [newcomer, *early] if backend.get(r.token).status == ACTIVE}
    assert admitted == {newcomer.token, *expected[:2]}


def test_draw_reads_again_when_someone_arrives_meanwhile(backend, now, monkeypatch):
    early = [join(backend, user_id, now, prequeue=True) for user_id in range(1, 4)]
    calls = []

    def order_with_an_arrival(arrivals, seed):
        calls.append(list(arrivals))
        if len(calls) == 1:
            early.append(join(backend, 4, now, prequeue=True))
        return prequeue_order(arrivals, seed)

    monkeypatch.setattr(redis_backend, "prequeue_order", order_with_an_arrival)
    assert backend.draw_prequeue(concert_id=CONCERT, seed=7) == 4
    assert [len(c) for c in calls] == [3, 4]
    assert all(backend.get(r.token).order_key < 0 for r in early)


def test_lapsed_pass_ends_and_a_new_one_goes_to_the_back(backend, now):
    old = join(backend, 1, now, idle=5)
    other = join(backend, 2, now, idle=600)
    later = now + dt.timedelta(seconds=10)
    joined = backend.join(
        concert_id=CONCERT,
        user_id=1,
        now=later,
        prequeue=False,
        waiting_until=later + dt.timedelta(seconds=60),
        poll_after=1,
    )
    new = joined.record
    assert joined.created and new.token != old.token and joined.position == 2
    assert backend.get(old.token).status == EXPIRED
    assert backend.position(new) == 2 and backend.position(other) == 1
    # The ended pass and its token mapping disappear by themselves too.
    assert 0 < backend.client.ttl(f"encore:qt:{old.token}") <= 24 * 3600
    assert 0 < backend.client.ttl(f"encore:q:{{c7}}:pass:{old.token}") <= 24 * 3600
    assert backend.client.ttl(f"encore:qt:{new.token}") == -1


def test_admission_skips_idle_passes_not_yet_swept(backend, now):
    idle = join(backend, 1, now, idle=5)
    fresh = join(backend, 2, now, idle=600)
    later = now + dt.timedelta(seconds=10)
    assert backend.counts(concert_id=CONCERT, now=later) == (1, 0)
    assert backend.position(fresh) == 2  # counts until a tick ends it, like the database
    assert backend.admit_now(admission=admission(later), count=5, now=later) == 1
    assert backend.get(idle.token).status == WAITING
    assert backend.get(fresh.token).status == ACTIVE
    result = backend.tick(admission=admission(later), now=later, admit=True)
    assert (result.idle_expired, result.waiting, result.active) == (1, 0, 1)


def test_extend_never_shortens_and_end_frees_the_user(backend, now):
    record = join(backend, 1, now, admit=admission(now))
    assert record.status == ACTIVE
    expires = backend.get(record.token).expires_at
    longest = dt.timedelta(minutes=20)
    earlier = expires - dt.timedelta(seconds=1)
    assert backend.extend(concert_id=CONCERT, user_id=1, until=earlier, now=now, longest=longest) == expires
    later = expires + dt.timedelta(minutes=3)
    assert backend.extend(concert_id=CONCERT, user_id=1, until=later, now=now, longest=longest) == later
    assert backend.get(record.token).expires_at == later
    # Never past the hard end: activation + longest.
    far = now + dt.timedelta(hours=5)
    assert backend.extend(concert_id=CONCERT, user_id=1, until=far, now=now, longest=longest) == now + longest
    assert backend.get(record.token).expires_at == now + longest
    assert backend.extend(concert_id=CONCERT, user_id=2, until=far, now=now, longest=longest) is None
    assert backend.end(concert_id=CONCERT, user_id=1, now=now, reason="paid")
    assert not backend.end(concert_id=CONCERT, user_id=1, now=now, reason="paid")
    assert backend.counts(concert_id=CONCERT, now=now) == (0, 0)


def test_purge_by_the_callers_clock_and_forget_empty_concerts(backend, now):
    leaver, stayer = join(backend, 1, now), join(backend, 2, now)
    assert backend.leave(token=leaver.token, user_id=1, now=now)
    assert not backend.leave(token=stayer.token, user_id=1, now=now)  # not theirs
    assert backend.purge(ended_before=now) == 0
    assert backend.purge(ended_before=now + dt.timedelta(seconds=1)) == 1
    assert backend.get(leaver.token) is None
    assert not backend.client.exists(f"encore:qt:{leaver.token}")
    assert backend.client.sismember("encore:q:concerts", CONCERT)
    assert backend.expire_all(concert_id=CONCERT, now=now) == 1
    assert backend.concerts_with_passes() == []
    assert backend.purge(ended_before=now + dt.timedelta(seconds=1)) == 1
    assert not backend.client.sismember("encore:q:concerts", CONCERT)
    assert backend.client.keys("encore:qt:*") == []


def test_unreachable_redis_is_queue_unavailable():
    backend = RedisBackend("redis://127.0.0.1:1/0")
    with pytest.raises(QueueUnavailable):
        backend.get(uuid.uuid4())
    with pytest.raises(QueueUnavailable):
        backend.tick(admission=admission(timezone.now()), now=timezone.now(), admit=True)


@pytest.mark.django_db
def test_unreachable_redis_is_a_503_problem(settings):
    settings.QUEUE_BACKEND = "redis"
    settings.QUEUE_REDIS_URL = "redis://127.0.0.1:1/0"
    res = APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=str(uuid.uuid4()))
    assert_problem(res, 503, "SERVICE_UNAVAILABLE")
    assert res["Retry-After"] == "2"


def test_poll_reads_the_pass_and_its_rank_and_keeps_it_alive(backend, now):
    first, second = join(backend, 1, now), join(backend, 2, now)
    record, position = backend.poll(second.token, now=now)
    assert record == second and position == 2
    # A third of the idle span later, the poll itself pushes the deadline out (no touch call).
    later = now + dt.timedelta(seconds=20)
    record, position = backend.poll(second.token, now=later)
    assert record.expires_at == later + dt.timedelta(seconds=60) and position == 2
    assert backend.client.zscore(redis_backend._keys(CONCERT)[2], str(second.token)) == int(
        redis_backend._us(later + dt.timedelta(seconds=60))
    )
    # A lapsed pass is not revived, and an unknown token is not found.
    lapsed, _ = backend.poll(first.token, now=now + dt.timedelta(seconds=61))
    assert lapsed.expires_at == first.expires_at and lapsed.effective_status(now + dt.timedelta(seconds=61)) == EXPIRED
    assert backend.poll(uuid.uuid4(), now=now) == (None, None)


def test_the_token_mapping_copy_is_bounded_and_never_keeps_misses(backend, now, monkeypatch):
    monkeypatch.setattr(backend, "_concerts", redis_backend._TokenConcerts(2))
    records = [join(backend, user, now) for user in (1, 2, 3)]
    unknown = uuid.uuid4()
    assert backend.get(unknown) is None and backend._concerts.get(str(unknown)) is None
    for record in records:
        assert backend.get(record.token) == record
    assert [backend._concerts.get(str(r.token)) for r in records] == [None, "7", "7"]  # oldest went first
    # A purged pass is gone even while its mapping is still copied.
    backend.leave(token=records[2].token, user_id=3, now=now)
    backend.purge(ended_before=now + dt.timedelta(seconds=1))
    assert backend.get(records[2].token) is None and backend.poll(records[2].token, now=now) == (None, None)
