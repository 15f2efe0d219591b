"""`bulk_load_waiting`, the backends' public bulk load (benchmarks, load tests, imports),
on both backends: the loaded passes form the line in the given order, behave as joined
ones, and a join or a tick afterwards sees them exactly as if each had joined."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.utils import timezone

from queue_app import services
from queue_app.backends import get_backend
from queue_app.backends.base import ACTIVE, WAITING
from queue_app.models import ConcertQueue
from queue_app.selectors import queue_config_cache_clear
from tests.factories import ConcertFactory

pytestmark = pytest.mark.django_db

N = 120


def make_users(n: int, prefix: str) -> list:
    User = get_user_model()
    User.objects.bulk_create([User(username=f"{prefix}{i}", email=f"{prefix}{i}@example.com") for i in range(n)])
    return list(User.objects.filter(username__startswith=prefix).order_by("pk"))


def set_queue(concert, **fields) -> None:
    ConcertQueue.objects.update_or_create(concert=concert, defaults=fields)
    queue_config_cache_clear()


def status_of(token) -> services.PassView:
    """What a poll of the pass answers."""
    return services.pass_status(token=token)


def bulk_load(concert, user_ids: list[int]):
    now = timezone.now()
    return get_backend().bulk_load_waiting(
        concert_id=concert.pk,
        user_ids=user_ids,
        now=now,
        waiting_until=now + dt.timedelta(hours=1),
        poll_after=1,
    )


def test_loaded_passes_form_the_line_in_order(queue_backend):
    concert = ConcertFactory()
    set_queue(concert, max_active=0)
    # Not in id order: the line follows the order given, not the users' ids.
    users = make_users(N, "bulk")[::-1]
    tokens = bulk_load(concert, [u.pk for u in users])

    assert len(tokens) == N and len(set(tokens)) == N
    backend = get_backend()
    records = [backend.get(t) for t in tokens]
    assert [r.user_id for r in records] == [u.pk for u in users]
    assert all(r.status == WAITING and r.concert_id == concert.pk and not r.prequeue for r in records)
    assert [backend.position(r) for r in records] == list(range(1, N + 1))
    assert [backend.poll(t, now=timezone.now())[1] for t in tokens] == list(range(1, N + 1))
    assert backend.counts(concert_id=concert.pk, now=timezone.now()) == (N, 0)
    # As a waiter's poll sees it.
    first, last = status_of(tokens[0]), status_of(tokens[-1])
    assert (first.status, first.position, last.position) == (WAITING, 1, N)

    # A normal join afterwards goes to the back; a second load goes behind it.
    joiner = make_users(1, "joiner")[0]
    joined, created = services.pass_join(user_id=joiner.pk, concert_id=concert.pk)
    assert created and (joined.status, joined.position) == (WAITING, N + 1)
    # A loaded user joining again gets their loaded pass, not a new place.
    again, created = services.pass_join(user_id=users[5].pk, concert_id=concert.pk)
    assert not created and (again.token, again.position) == (tokens[5], 6)
    more = bulk_load(concert, [u.pk for u in make_users(3, "later")])
    assert [status_of(t).position for t in more] == [N + 2, N + 3, N + 4]

    # The ticker admits them in line order, batch by batch.
    line = [*tokens, joined.token, *more]
    batch = 50
    set_queue(concert, max_active=len(line), admit_batch=batch)
    admitted = 0
    while admitted < len(line):
        result = services.queue_tick(concert_id=concert.pk)
        assert result.admitted == min(batch, len(line) - admitted)
        admitted += result.admitted
        states = [backend.get(t).status for t in line]
        assert states == [ACTIVE] * admitted + [WAITING] * (len(line) - admitted)
    assert backend.counts(concert_id=concert.pk, now=timezone.now()) == (0, len(line))


def test_loads_nothing_for_duplicates_or_users_already_in_line(queue_backend):
    concert = ConcertFactory()
    set_queue(concert, max_active=0)
    users = make_users(4, "dup")
    with pytest.raises(ValueError):
        bulk_load(concert, [users[0].pk, users[1].pk, users[0].pk])
    (held,) = bulk_load(concert, [users[1].pk])

    with pytest.raises((ValueError, IntegrityError)):
        bulk_load(concert, [users[2].pk, users[1].pk, users[3].pk])

    backend = get_backend()
    assert backend.counts(concert_id=concert.pk, now=timezone.now()) == (1, 0)
    assert status_of(held).position == 1
    assert bulk_load(concert, []) == []


def test_chunked_loads_keep_the_order(queue_backend, monkeypatch):
    """Many small chunks (pipelines on Redis; on the database the INSERT path used where
    COPY is not available) still give one line in the order given."""
    from queue_app.backends import database, redis

    monkeypatch.setattr(database, "BULK_CHUNK", 7)
    monkeypatch.setattr(database, "is_psycopg3", False)
    monkeypatch.setattr(redis, "BULK_CHUNK", 7)
    concert = ConcertFactory()
    set_queue(concert, max_active=0)
    users = make_users(40, "chunk")[::-1]
    tokens = bulk_load(concert, [u.pk for u in users])
    backend = get_backend()
    records = [backend.get(t) for t in tokens]
    assert [r.user_id for r in records] == [u.pk for u in users]
    assert [backend.position(r) for r in records] == list(range(1, 41))
