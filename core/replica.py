"""The catalogue's reads from a streaming replica (``REPLICA_DATABASE_URL``).

Only the public catalogue (the concert list and a concert's page or detail) reads there:
nothing that decides a booking does, so a replica that lags shows a catalogue as old as
its lag and never a wrong booking. A replica that fails a read is left alone for
``REPLICA_RETRY_SECONDS`` and the read, and those after it, go to the primary.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
T = TypeVar("T")
_down_until = 0.0


def catalogue_read(read: Callable[[str], T]) -> T:
    """``read(alias)`` on the replica when there is one and it answers, else on the primary.
    ``read`` must finish its queries (evaluate its querysets) before it returns."""
    global _down_until
    if REPLICA in settings.DATABASES and time.monotonic() >= _down_until:
        try:
            return read(REPLICA)
        except DatabaseError as exc:
            _down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
            logger.warning(
                "replica unavailable (%s): the catalogue reads from the primary for %s s",
                type(exc).__name__,
                settings.REPLICA_RETRY_SECONDS,
            )
            with contextlib.suppress(DatabaseError):
                connections[REPLICA].close()
    return read("default")
