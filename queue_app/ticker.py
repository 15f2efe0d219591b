"""The admission ticker: runs `queue_tick_all` every QUEUE_ADMIT_INTERVAL_SECONDS.

django-q2's scheduler scans its table only every 30 s, too coarse for a
1-second admission interval, so admission has its own small clock. Ticks are
scheduled on a fixed grid (start + k·interval) so they do not drift, and a tick
that overruns skips the missed slots instead of bunching. Two tickers may run
at once (one per machine): each concert's step locks its admission row, so the
cap holds and nobody is admitted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections

from queue_app.services import queue_tick_all

logger = logging.getLogger(__name__)


def run_ticker(
    *,
    stop: threading.Event,
    interval: float | None = None,
    step: Callable[[], object] | None = None,
    max_ticks: int | None = None,
) -> int:
    """Tick until ``stop`` is set (or ``max_ticks`` ran). Returns the ticks run."""
    interval = interval or settings.QUEUE_ADMIT_INTERVAL_SECONDS
    step = step or queue_tick_all
    start = time.monotonic()
    ticks = 0
    while not stop.is_set() and (max_ticks is None or ticks < max_ticks):
        close_old_connections()
        try:
            step()
        except Exception:  # the database may be briefly away; the next tick retries
            logger.exception("admission tick failed")
        ticks += 1
        elapsed = time.monotonic() - start
        next_slot = (int(elapsed // interval) + 1) * interval
        stop.wait(max(0.0, next_slot - elapsed))
    return ticks
