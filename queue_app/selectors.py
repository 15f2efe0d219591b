"""Reads for the waiting room: per-concert settings (cached briefly for the poll
path), poll advice, and the staff dashboard."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from queue_app.backends import get_backend
from queue_app.models import ConcertQueue, QueueSnapshot
from queue_app.rules import booking_is_open

CONFIG_CACHE_SECONDS = 1.0
RATE_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class QueueConfig:
    concert_id: int
    opens_at: dt.datetime | None
    batch: int
    cap: int
    paused: bool
    drawn_at: dt.datetime | None
    waiting_estimate: int
    admit_rate: float | None

    def is_open(self, now: dt.datetime) -> bool:
        return booking_is_open(self.opens_at, now)

    def needs_draw(self, now: dt.datetime) -> bool:
        """Open, and the pre-queue of the current opening has not been drawn yet."""
        if self.opens_at is None or self.opens_at > now:
            return False
        return self.drawn_at is None or self.drawn_at < self.opens_at

    @property
    def configured_rate(self) -> float:
        """Admissions per second the settings allow."""
        return max(1, self.batch) / max(1, settings.QUEUE_ADMIT_INTERVAL_SECONDS)

    @property
    def rate(self) -> float:
        return self.admit_rate if self.admit_rate else self.configured_rate


_cache: dict[int, tuple[float, QueueConfig]] = {}
_cache_lock = threading.Lock()


def queue_config_cached(*, concert_id: int) -> QueueConfig | None:
    """This process's copy of the concert's settings if it is at most a second old, else None
    (a hit also says the concert existed a second ago)."""
    with _cache_lock:
        hit = _cache.get(concert_id)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def queue_config(*, concert_id: int, fresh: bool = False) -> QueueConfig:
    """The concert's queue settings; the poll path takes a copy up to a second old."""
    if not fresh and (config := queue_config_cached(concert_id=concert_id)) is not None:
        return config
    queue, _ = ConcertQueue.objects.select_related("concert").get_or_create(concert_id=concert_id)
    config = QueueConfig(
        concert_id=concert_id,
        opens_at=queue.concert.booking_opens_at,
        batch=queue.batch,
        cap=queue.cap,
        paused=queue.paused,
        drawn_at=queue.prequeue_drawn_at,
        waiting_estimate=queue.waiting_estimate,
        admit_rate=queue.admit_rate,
    )
    with _cache_lock:
        _cache[concert_id] = (time.monotonic() + CONFIG_CACHE_SECONDS, config)
    return config


def queue_config_cache_clear() -> None:
    with _cache_lock:
        _cache.clear()


def poll_advice(*, position: int, waiting: int, budget_rps: int) -> int:
    """Seconds until the next poll, growing with the distance from the front, so
    that all waiting users' polls together stay within ``budget_rps``.

    Users up to ``a`` from the front poll every second; further back the interval
    grows linearly (position / a) up to ``F = 2W/B``, where it stays. The polls
    per second then sum to about a + a·ln(F) + (W - a·F)/F; with a = B / (2 ln F)
    that is B/2 + B/2 = B. Ceilings only lengthen intervals, so the sum stays under B.
    """
    waiting = max(waiting, position, 1)
    longest = 2 * waiting / max(1, budget_rps)
    if longest <= 1:
        return 1
    # For F below e, ln F < 1 and `a` exceeds B/2; the same sum still bounds the rate.
    per_second = budget_rps / (2 * math.log(longest)) if longest > math.e else budget_rps / 2
    return max(1, min(math.ceil(longest), math.ceil(position / per_second)))


def idle_span(poll_after: int) -> int:
    """How long a WAITING pass may go unpolled: never less than 3 advised intervals."""
    return max(settings.QUEUE_WAIT_IDLE_SECONDS, 3 * poll_after)


@dataclass(frozen=True)
class Dashboard:
    concert_id: int
    waiting: int
    active: int
    cap: int
    batch: int
    paused: bool
    admitted_last_minute: int
    idle_expired_last_minute: int
    last_in_line_eta_seconds: int | None
    series: list[dict]


def queue_dashboard(*, concert_id: int, now: dt.datetime | None = None, minutes: int = 10) -> Dashboard:
    now = now or timezone.now()
    config = queue_config(concert_id=concert_id, fresh=True)
    waiting, active = get_backend().counts(concert_id=concert_id, now=now)
    recent = QueueSnapshot.objects.filter(concert_id=concert_id, at__gt=now - dt.timedelta(seconds=RATE_WINDOW_SECONDS))
    sums = recent.aggregate(admitted=Sum("admitted"), idle=Sum("idle_expired"))
    series = list(
        QueueSnapshot.objects.filter(concert_id=concert_id, at__gt=now - dt.timedelta(minutes=minutes))
        .order_by("at")
        .values("at", "waiting", "active", "admitted")
    )
    return Dashboard(
        concert_id=concert_id,
        waiting=waiting,
        active=active,
        cap=config.cap,
        batch=config.batch,
        paused=config.paused,
        admitted_last_minute=sums["admitted"] or 0,
        idle_expired_last_minute=sums["idle"] or 0,
        last_in_line_eta_seconds=math.ceil(waiting / config.rate) if waiting else None,
        series=series,
    )
