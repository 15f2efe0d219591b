"""The waiting room's writes: joining, polling, leaving, admission ticks, the
pre-queue draw, and the hooks the booking apps call (extend, end).

Correctness never waits for the ticker: a pass past its ``expires_at`` is
treated as EXPIRED at read time; the tick only tidies up and frees capacity.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from core.parsing import parse_id
from queue_app import hooks
from queue_app.backends import get_backend
from queue_app.backends.base import ACTIVE, EXPIRED, WAITING, Admission, PassRecord, TickResult
from queue_app.exceptions import QueueTokenExpired, QueueTokenNotFound
from queue_app.models import ConcertQueue, QueueSnapshot
from queue_app.selectors import (
    RATE_WINDOW_SECONDS,
    QueueConfig,
    idle_span,
    poll_advice,
    queue_config,
    queue_config_cached,
)

logger = logging.getLogger(__name__)

ACTIVE_POLL_SECONDS = 15
SNAPSHOT_RETENTION = dt.timedelta(hours=1)


@dataclass(frozen=True)
class PassView:
    """The status object of the contract."""

    token: uuid.UUID
    concert_id: int
    status: str
    position: int | None
    ahead: int | None
    eta_seconds: int | None
    poll_after_seconds: int
    expires_at: dt.datetime

    def as_dict(self) -> dict:
        return {
            "token": str(self.token),
            "concert_id": self.concert_id,
            "status": self.status,
            "position": self.position,
            "ahead": self.ahead,
            "eta_seconds": self.eta_seconds,
            "poll_after_seconds": self.poll_after_seconds,
            "expires_at": timezone.localtime(self.expires_at).isoformat(),
        }


def _admission(config: QueueConfig, now: dt.datetime) -> Admission:
    return Admission(
        concert_id=config.concert_id,
        batch=config.batch,
        cap=config.cap,
        active_until=now + dt.timedelta(seconds=settings.QUEUE_ACTIVE_TTL_SECONDS),
    )


def pass_join(*, user_id: int, concert_id: object, now: dt.datetime | None = None) -> tuple[PassView, bool]:
    """The user's one live pass for the concert; a new one at the back if none is live.

    When the concert is open, not paused, nobody waits ahead and the cap has
    room, the new pass is ACTIVE at once: the line forms only under load.
    """
    now = now or timezone.now()
    pk = parse_id(concert_id)
    config = queue_config_cached(concert_id=pk) if pk is not None else None
    if config is None:  # not seen here within a second: the catalogue says if it exists (else 404)
        pk = hooks.concert_get(concert_id).pk
        config = queue_config(concert_id=pk)
    instant = config.is_open(now) and not config.paused and not config.needs_draw(now)
    try:
        joined = get_backend().join(
            concert_id=pk,
            user_id=user_id,
            now=now,
            prequeue=not config.is_open(now),
            waiting_until=now + dt.timedelta(seconds=idle_span(1)),
            poll_after=1,
            admission=_admission(config, now) if instant else None,
        )
    except IntegrityError:
        hooks.concert_get(concert_id)  # deleted within that second: its 404
        raise
    return _view(joined.record, now, config, position=joined.position), joined.created


def pass_status(*, token: uuid.UUID, user_id: int | None = None, now: dt.datetime | None = None) -> PassView:
    """A poll. Keeps a WAITING pass alive; an expired pass is refused even before any sweep.
    With ``user_id`` (a signed-in page), someone else's pass is QueueTokenNotFound."""
    now = now or timezone.now()
    backend = get_backend()
    record, position = backend.poll(token, now=now)
    if record is None or (user_id is not None and record.user_id != user_id):
        raise QueueTokenNotFound()
    if record.effective_status(now) == EXPIRED:
        raise QueueTokenExpired()
    config = queue_config(concert_id=record.concert_id)
    if record.status == WAITING and record.order_key is None and config.needs_draw(now):
        prequeue_draw(concert_id=record.concert_id, now=now)
        config = queue_config(concert_id=record.concert_id, fresh=True)
        drawn, position = backend.poll(token, now=now)
        record = drawn or record
    return _view(record, now, config, touch=True, position=position)


def _view(
    record: PassRecord, now: dt.datetime, config: QueueConfig, touch: bool = False, position: int | None = None
) -> PassView:
    """The status object; ``position`` is the one the backend read with the pass, if it did."""
    if record.effective_status(now) == ACTIVE and not config.is_open(now):
        # Admitted, then the opening was moved later: booking is closed until it comes (the
        # gate refuses meanwhile), so the pass waits for the opening like the pre-queue.
        to_open = max(0, math.ceil((config.opens_at - now).total_seconds()))
        return PassView(
            token=record.token,
            concert_id=record.concert_id,
            status=WAITING,
            position=None,
            ahead=None,
            eta_seconds=to_open,
            poll_after_seconds=max(1, min(ACTIVE_POLL_SECONDS, to_open)),
            expires_at=record.expires_at,
        )
    if record.effective_status(now) != WAITING:
        return PassView(
            token=record.token,
            concert_id=record.concert_id,
            status=record.effective_status(now),
            position=None,
            ahead=None,
            eta_seconds=None,
            poll_after_seconds=ACTIVE_POLL_SECONDS,
            expires_at=record.expires_at,
        )
    budget = settings.QUEUE_POLL_BUDGET_RPS
    if record.order_key is None:
        # Pre-queue: no place yet; everyone polls slowly enough for the budget, and
        # comes back right at the opening.
        to_open = math.ceil((config.opens_at - now).total_seconds()) if config.opens_at else 0
        position = None
        eta = max(0, to_open)
        poll_after = max(1, min(math.ceil(config.waiting_estimate / max(1, budget)), max(1, to_open)))
    else:
        if position is None:
            position = get_backend().position(record)
        eta = math.ceil(position / config.rate)
        poll_after = poll_advice(position=position, waiting=config.waiting_estimate, budget_rps=budget)
    waiting_until = now + dt.timedelta(seconds=idle_span(poll_after))
    expires_at = record.expires_at
    # Write only when the deadline would move by a third of its span or the advice
    # changed: most polls of a steady waiter then cost no write at all.
    moved = (waiting_until - expires_at).total_seconds()
    if touch and (poll_after != record.poll_after or moved >= idle_span(poll_after) / 3):
        get_backend().touch(token=record.token, waiting_until=waiting_until, poll_after=poll_after)
        expires_at = waiting_until
    return PassView(
        token=record.token,
        concert_id=record.concert_id,
        status=WAITING,
        position=position,
        ahead=position - 1 if position is not None else None,
        eta_seconds=eta,
        poll_after_seconds=poll_after,
        expires_at=expires_at,
    )


def pass_leave(*, token: uuid.UUID, user_id: int, now: dt.datetime | None = None) -> None:
    """Leave the line or give up an active pass. Only the owner may; others get 404."""
    now = now or timezone.now()
    backend = get_backend()
    record = backend.get(token)
    if record is None or record.user_id != user_id:
        raise QueueTokenNotFound()
    _recent_passes.forget(user_id, record.concert_id)
    backend.leave(token=token, user_id=user_id, now=now)


class _RecentPasses:
    """Pass records this process read for the gate, by (user, concert), each kept for a
    caller-given number of seconds. Only the reads a one-second-stale answer suits use it
    (dates and seat maps, whose bodies may be that old anyway); holds and payments always
    read the pass. Ending, leaving or extending a pass here forgets the user's entry at
    once; in other processes it lives out its seconds (an expiry is exact regardless: it
    is checked against the record's ``expires_at`` on every use)."""

    size = 50_000

    def __init__(self) -> None:
        self._entries: dict[tuple[int, int], tuple[float, PassRecord]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: int, concert_id: int, token: uuid.UUID) -> PassRecord | None:
        hit = self._entries.get((user_id, concert_id))
        if hit is None or hit[0] <= time.time() or hit[1].token != token:
            return None
        return hit[1]

    def put(self, record: PassRecord, seconds: float) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()  # rare: a cheap bound beats an eviction order here
            self._entries[(record.user_id, record.concert_id)] = (time.time() + seconds, record)

    def forget(self, user_id: int, concert_id: int) -> None:
        with self._lock:
            self._entries.pop((user_id, concert_id), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_recent_passes = _RecentPasses()
recent_passes_clear = _recent_passes.clear


def pass_is_active(
    *, token: uuid.UUID, user_id: int, concert_id: int, now: dt.datetime | None = None, max_age: float = 0.0
) -> bool:
    """The gate's check: the caller's own ACTIVE pass for this concert, in O(1), while
    booking is open (a pass admitted before the opening was moved later waits for it).
    ``max_age`` > 0: a record this process read at most that many seconds ago will do."""
    now = now or timezone.now()
    record = _recent_passes.get(user_id, concert_id, token) if max_age > 0 else None
    if record is None:
        record = get_backend().get(token)
        if max_age > 0 and record is not None and record.user_id == user_id and record.status == ACTIVE:
            _recent_passes.put(record, max_age)
    return (
        record is not None
        and record.user_id == user_id
        and record.concert_id == concert_id
        and record.effective_status(now) == ACTIVE
        and queue_config(concert_id=concert_id).is_open(now)
    )


def pass_extend(
    *, user_id: int, concert_id: int, until: dt.datetime, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Keep the user's ACTIVE pass alive until ``until`` (a live hold's end), but never past
    its hard end, QUEUE_ACTIVE_MAX_SECONDS after admission: holds cannot keep a pass forever.
    Returns when the pass ends now (None: no live ACTIVE pass); a hold must end by then."""
    longest = dt.timedelta(seconds=settings.QUEUE_ACTIVE_MAX_SECONDS)
    _recent_passes.forget(user_id, concert_id)
    return get_backend().extend(
        concert_id=concert_id, user_id=user_id, until=until, now=now or timezone.now(), longest=longest
    )


def pass_end(*, user_id: int, concert_id: int, reason: str = "done", now: dt.datetime | None = None) -> bool:
    """End the user's pass (after paying): the slot goes to the next in line."""
    _recent_passes.forget(user_id, concert_id)
    return get_backend().end(concert_id=concert_id, user_id=user_id, now=now or timezone.now(), reason=reason)


def prequeue_draw(*, concert_id: int, now: dt.datetime | None = None) -> int:
    """Put the pre-queue in its seeded random order, once, at opening.

    The seed is recorded before the draw, so a retried draw uses the same seed and
    anyone can replay the order with `prequeue_order(arrivals, seed)`.
    """
    now = now or timezone.now()
    with transaction.atomic():
        queue = ConcertQueue.objects.select_for_update().select_related("concert").get(concert_id=concert_id)
        opens_at = queue.concert.booking_opens_at
        if opens_at is None or opens_at > now:
            return 0
        if queue.prequeue_drawn_at is not None and queue.prequeue_drawn_at >= opens_at:
            return 0
        if queue.prequeue_seed is None or queue.prequeue_drawn_at is not None:
            queue.prequeue_seed = secrets.randbits(63)
            queue.prequeue_drawn_at = None
            queue.save(update_fields=["prequeue_seed", "prequeue_drawn_at"])
    drawn = get_backend().draw_prequeue(concert_id=concert_id, seed=queue.prequeue_seed)
    ConcertQueue.objects.filter(pk=concert_id).update(prequeue_drawn_at=now, prequeue_size=drawn)
    logger.info("concert %s: pre-queue of %s drawn with seed %s", concert_id, drawn, queue.prequeue_seed)
    return drawn


def queue_tick(*, concert_id: int, now: dt.datetime | None = None) -> TickResult:
    """One admission step for one concert: drop idlers, admit in order up to the
    batch and the cap, and record a snapshot for the ETA and the dashboard."""
    now = now or timezone.now()
    config = queue_config(concert_id=concert_id, fresh=True)
    if config.needs_draw(now):
        prequeue_draw(concert_id=concert_id, now=now)
    admit = config.is_open(now) and not config.paused
    result = get_backend().tick(admission=_admission(config, now), now=now, admit=admit)
    QueueSnapshot.objects.create(
        concert_id=concert_id,
        at=now,
        waiting=result.waiting,
        active=result.active,
        admitted=result.admitted,
        idle_expired=result.idle_expired,
    )
    window_start = now - dt.timedelta(seconds=RATE_WINDOW_SECONDS)
    recent = QueueSnapshot.objects.filter(concert_id=concert_id, at__gt=window_start)
    admitted = recent.aggregate(n=Sum("admitted"))["n"] or 0
    first = recent.order_by("at").values_list("at", flat=True).first()
    span = max(settings.QUEUE_ADMIT_INTERVAL_SECONDS, (now - first).total_seconds() if first else 0)
    ConcertQueue.objects.filter(pk=concert_id).update(
        waiting_estimate=result.waiting, admit_rate=(admitted / span) if admitted else None
    )
    return result


def queue_tick_all(*, now: dt.datetime | None = None) -> dict[int, TickResult]:
    """The ticker's step: every concert that has live passes."""
    now = now or timezone.now()
    concert_ids = get_backend().concerts_with_passes()
    results = {}
    for concert_id in sorted(concert_ids):
        try:
            results[concert_id] = queue_tick(concert_id=concert_id, now=now)
        except Exception:  # one concert's failure must not stop the others' admission
            logger.exception("admission tick failed for concert %s", concert_id)
    return results


def queue_admit_now(*, concert_id: int, count: int, now: dt.datetime | None = None) -> int:
    """Staff: admit up to ``count`` now (never past the cap), even while paused."""
    now = now or timezone.now()
    config = queue_config(concert_id=concert_id, fresh=True)
    return get_backend().admit_now(admission=_admission(config, now), count=count, now=now)


def queue_expire_all(*, concert_id: int, now: dt.datetime | None = None) -> int:
    return get_backend().expire_all(concert_id=concert_id, now=now or timezone.now())


def queue_purge(*, now: dt.datetime | None = None) -> int:
    """Delete passes ended longer ago than the retention period, and old snapshots."""
    now = now or timezone.now()
    purged = get_backend().purge(ended_before=now - dt.timedelta(seconds=settings.QUEUE_RETENTION_SECONDS))
    QueueSnapshot.objects.filter(at__lt=now - SNAPSHOT_RETENTION).delete()
    return purged
