"""Choose the waiting-room backend: Redis when QUEUE_REDIS_URL (by default REDIS_URL) is
set, else the database.
`QUEUE_BACKEND` ("database" or "redis") forces one (tests run both)."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from queue_app.backends.base import QueueBackend


def get_backend() -> QueueBackend:
    name = getattr(settings, "QUEUE_BACKEND", "") or ("redis" if settings.QUEUE_REDIS_URL else "database")
    return _backend(name, settings.QUEUE_REDIS_URL if name == "redis" else "")


@lru_cache(maxsize=4)
def _backend(name: str, url: str) -> QueueBackend:
    if name == "redis":
        from queue_app.backends.redis import RedisBackend

        return RedisBackend(url)
    from queue_app.backends.database import DatabaseBackend

    return DatabaseBackend()
