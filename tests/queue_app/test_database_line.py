"""The database backend's line at length: positions from per-block counts, not from
counting every pass ahead. Each test checks the counts against the passes themselves
(the brute-force count the backend no longer makes), across block boundaries, through
every kind of departure, under concurrency, and that the poll and the join stay short
whatever the line's length."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from queue_app import services
from queue_app.backends import get_backend
from queue_app.backends.base import ACTIVE, WAITING, Admission
from queue_app.backends.database import _AHEAD_SQL, BLOCK_SIZE, block_start, recount_blocks
from queue_app.models import ConcertQueue, QueueBlock, QueuePass
from queue_app.selectors import queue_config_cache_clear
from tests.concurrency import run_concurrently
from tests.factories import ConcertFactory, UserFactory

pytestmark = pytest.mark.usefixtures("database_backend")


@pytest.fixture
def database_backend(settings):
    settings.QUEUE_BACKEND = "database"


def _skip_keys(n: int) -> None:
    """Move the pass id sequence on by ``n``: the next pass lands in a later block."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('queue_app_queuepass', 'id'),"
            " nextval(pg_get_serial_sequence('queue_app_queuepass', 'id')) + %s)",
            [n],
        )


def _join(concert, user, now=None):
    now = now or timezone.now()
    return get_backend().join(
        concert_id=concert.pk,
        user_id=user.pk,
        now=now,
        prequeue=False,
        waiting_until=now + dt.timedelta(hours=1),
        poll_after=1,
    )


def _admission(concert, batch=10, cap=1_000_000):
    return Admission(
        concert_id=concert.pk, batch=batch, cap=cap, active_until=timezone.now() + dt.timedelta(minutes=10)
    )


def _blocks(concert) -> dict[int, int]:
    return dict(QueueBlock.objects.filter(concert=concert, waiting__gt=0).values_list("start", "waiting"))


def _true_blocks(concert) -> dict[int, int]:
    counts: dict[int, int] = {}
    for key in QueuePass.objects.filter(concert=concert, status=WAITING, sealed=True).values_list(
        "order_key", flat=True
    ):
        counts[block_start(key)] = counts.get(block_start(key), 0) + 1
    return counts


def assert_positions_exact(concert) -> None:
    """Every waiting pass's position is 1 + the waiting passes with a lower key, and the
    blocks count exactly the sealed waiting passes."""
    assert _blocks(concert) == _true_blocks(concert)
    line = list(QueuePass.objects.filter(concert=concert, status=WAITING).order_by("order_key"))
    backend = get_backend()
    for place, p in enumerate(line, start=1):
        record, position = backend.poll(p.token, now=timezone.now())
        assert position == place, (p.order_key, position, place)
        assert backend.position(record) == place


def test_positions_across_blocks_through_every_departure(db):
    concert = ConcertFactory()
    users = UserFactory.create_batch(40)
    rng = random.Random(7)
    tickets = {}
    for i, user in enumerate(users[:30]):
        if i % 4 == 0:
            _skip_keys(rng.randrange(BLOCK_SIZE // 2, 3 * BLOCK_SIZE))
        tickets[user.pk] = _join(concert, user).record
    # Unsealed: joined since the last tick.
    assert not _blocks(concert)
    assert_positions_exact(concert)

    backend = get_backend()
    now = timezone.now()
    backend.tick(admission=_admission(concert, batch=3), now=now, admit=True)  # admits 3, seals the rest
    assert QueuePass.objects.filter(concert=concert, status=ACTIVE).count() == 3
    assert sum(_blocks(concert).values()) == 27
    assert_positions_exact(concert)

    # Joins after the seal, in blocks behind and in the last sealed block.
    for user in users[30:35]:
        tickets[user.pk] = _join(concert, user).record
    _skip_keys(2 * BLOCK_SIZE)
    for user in users[35:]:
        tickets[user.pk] = _join(concert, user).record
    assert_positions_exact(concert)

    # Leaving (sealed and unsealed), ending, idle expiry, an active pass leaving.
    waiting = list(QueuePass.objects.filter(concert=concert, status=WAITING).order_by("order_key"))
    backend.leave(token=waiting[5].token, user_id=waiting[5].user_id, now=now)
    backend.leave(token=waiting[-1].token, user_id=waiting[-1].user_id, now=now)
    backend.end(concert_id=concert.pk, user_id=waiting[10].user_id, now=now, reason="paid")
    QueuePass.objects.filter(pk__in=[waiting[2].pk, waiting[20].pk]).update(expires_at=now - dt.timedelta(seconds=1))
    active = QueuePass.objects.filter(concert=concert, status=ACTIVE).first()
    backend.leave(token=active.token, user_id=active.user_id, now=now)
    assert_positions_exact(concert)

    result = backend.tick(admission=_admission(concert, batch=4), now=now, admit=True)
    assert (result.idle_expired, result.admitted) == (2, 4)
    assert result.waiting == QueuePass.objects.filter(concert=concert, status=WAITING).count()
    assert_positions_exact(concert)

    backend.admit_now(admission=_admission(concert), count=5, now=now)
    assert_positions_exact(concert)

    backend.expire_all(concert_id=concert.pk, now=now)
    assert not _blocks(concert)
    assert not QueueBlock.objects.filter(concert=concert).exclude(waiting=0).exists()


def test_a_lapsed_pass_rejoining_leaves_its_block(db):
    concert = ConcertFactory()
    users = UserFactory.create_batch(3)
    for user in users:
        _join(concert, user)
    now = timezone.now()
    get_backend().tick(admission=_admission(concert), now=now, admit=False)
    first = QueuePass.objects.get(concert=concert, user=users[0])
    QueuePass.objects.filter(pk=first.pk).update(expires_at=now - dt.timedelta(seconds=1))

    again = _join(concert, users[0], now=now)

    assert again.created and again.record.token != first.token
    assert again.position == 3  # at the back, behind the two who stayed
    assert_positions_exact(concert)


def test_the_prequeue_draw_and_seal(db):
    concert = ConcertFactory()
    users = UserFactory.create_batch(6)
    now = timezone.now()
    backend = get_backend()
    for user in users[:4]:
        backend.join(
            concert_id=concert.pk,
            user_id=user.pk,
            now=now,
            prequeue=True,
            waiting_until=now + dt.timedelta(hours=1),
            poll_after=1,
        )
    backend.tick(admission=_admission(concert), now=now, admit=False)
    assert not _blocks(concert)  # undrawn: no place in line yet, nothing sealed
    backend.draw_prequeue(concert_id=concert.pk, seed=42)
    for user in users[4:]:
        _join(concert, user, now=now)
    assert_positions_exact(concert)
    backend.tick(admission=_admission(concert), now=now, admit=False)
    assert sum(_blocks(concert).values()) == 6
    assert_positions_exact(concert)


def test_the_purge_recounts_blocks_a_deletion_left_wrong(db):
    concert = ConcertFactory()
    users = UserFactory.create_batch(5)
    for user in users[:4]:
        _join(concert, user)
    _skip_keys(BLOCK_SIZE)  # the last one a block behind: it reads the others' block count
    _join(concert, users[4])
    now = timezone.now()
    backend = get_backend()
    backend.tick(admission=_admission(concert), now=now, admit=False)
    users[1].delete()  # its waiting pass goes with it: no departure was recorded
    last = QueuePass.objects.get(concert=concert, user=users[4])
    assert backend.poll(last.token, now=now)[1] == 5  # counted one who is gone

    services.queue_purge(now=now)

    assert_positions_exact(concert)


@pytest.mark.django_db(transaction=True)
def test_departures_racing_ticks_are_each_counted_once():
    """Fans leave while tickers seal and admit, all at once: the blocks end exactly
    equal to the passes they count."""
    concert = ConcertFactory()
    ConcertQueue.objects.create(concert=concert)
    users = UserFactory.create_batch(160)
    for i, user in enumerate(users):
        if i % 20 == 0:
            _skip_keys(BLOCK_SIZE)
        _join(concert, user)
    get_backend().tick(admission=_admission(concert, batch=0), now=timezone.now(), admit=False)
    for user in users[::3]:  # joined after the seal: unsealed at the start of the race
        QueuePass.objects.filter(concert=concert, user=user).update(sealed=False)
    recount_fix(concert)
    leavers = users[1::2]
    passes = dict(QueuePass.objects.filter(concert=concert).values_list("user_id", "token"))
    stop = threading.Event()
    done = []
    lock = threading.Lock()

    def work(i: int):
        if i < 2:  # two tickers, over and over, until the leavers are done
            ticks = 0
            while not stop.is_set() or ticks == 0:
                get_backend().tick(admission=_admission(concert, batch=2), now=timezone.now(), admit=True)
                ticks += 1
            return ticks
        user = leavers[i - 2]
        left = get_backend().leave(token=passes[user.pk], user_id=user.pk, now=timezone.now())
        with lock:
            done.append(i)
            if len(done) == len(leavers):
                stop.set()
        return left

    results = run_concurrently(len(leavers) + 2, work, workers=12)
    stop.set()
    assert not [r for r in results if isinstance(r, Exception)]
    assert _blocks(concert) == _true_blocks(concert)
    assert_positions_exact(concert)


def recount_fix(concert) -> None:
    """The blocks made to match a state the test set by hand."""
    with transaction.atomic():
        recount_blocks(concert.pk)


def _index_rows_read(sql: str, params) -> int:
    """Rows the statement's scans of queue_app_queuepass produced, from EXPLAIN ANALYZE."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def walk(node) -> int:
        own = 0
        if node.get("Relation Name") == "queue_app_queuepass":
            own = node["Actual Rows"] * node.get("Actual Loops", 1)
        return own + sum(walk(child) for child in node.get("Plans", []))

    return walk(plan[0]["Plan"])


def test_a_position_reads_a_block_not_the_line(db):
    """At the back of 20,000 waiting the count reads the blocks and at most a block's
    passes, not the 20,000 ahead."""
    concert = ConcertFactory()
    User = get_user_model()
    User.objects.bulk_create([User(username=f"line{i}", email=f"line{i}@example.com") for i in range(20_000)])
    ids = list(User.objects.filter(username__startswith="line").values_list("pk", flat=True))
    now = timezone.now()
    tokens = get_backend().bulk_load_waiting(
        concert_id=concert.pk, user_ids=ids, now=now, waiting_until=now + dt.timedelta(hours=1), poll_after=1
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE queue_app_queuepass")
    last = QueuePass.objects.get(token=tokens[-1])
    assert get_backend().poll(last.token, now=now)[1] == 20_000

    read = _index_rows_read(f"SELECT {_AHEAD_SQL} FROM queue_app_queuepass p WHERE p.token = %s", [last.token])

    assert read <= 1 + BLOCK_SIZE, read


def test_a_join_is_one_statement_and_locks_nothing_while_the_line_is_long(db, django_assert_num_queries):
    concert = ConcertFactory()
    users = UserFactory.create_batch(6)
    ConcertQueue.objects.create(concert=concert)
    for user in users[:5]:
        _join(concert, user)
    now = timezone.now()
    admission = _admission(concert, cap=3)  # five waiting ahead: more than the cap
    with django_assert_num_queries(1) as captured:
        joined = get_backend().join(
            concert_id=concert.pk,
            user_id=users[5].pk,
            now=now,
            prequeue=False,
            waiting_until=now + dt.timedelta(hours=1),
            poll_after=1,
            admission=admission,
        )
    assert joined.created and joined.position == 6
    assert "queue_app_concertqueue" not in captured.captured_queries[0]["sql"]
    # Asking again: the same pass (two statements: the refused insert, the read).
    with django_assert_num_queries(2):
        again = _join(concert, users[5])
    assert not again.created and again.record.token == joined.record.token


def test_instant_entry_still_admits_through_the_one_statement_join(db):
    concert = ConcertFactory()
    user = UserFactory()
    queue_config_cache_clear()
    now = timezone.now()
    joined = get_backend().join(
        concert_id=concert.pk,
        user_id=user.pk,
        now=now,
        prequeue=False,
        waiting_until=now + dt.timedelta(hours=1),
        poll_after=1,
        admission=_admission(concert, cap=2),
    )
    assert joined.created and joined.record.status == ACTIVE
