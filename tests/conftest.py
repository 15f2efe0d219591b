from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine not in ("django.db.backends.postgresql", "core.postgresql"):
        raise pytest.UsageError(f"The suite runs on PostgreSQL only (DATABASE_URL gives {engine}).")
    # Concurrency tests give each thread its own connection, sized to what the server has
    # free (tests/concurrency.py); a pool would make threads queue for its few connections.
    # Servers that tests start as subprocesses keep the pool, as in production.
    settings.DATABASES["default"]["OPTIONS"].pop("pool", None)
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Hashing cost is not under test; a fast hasher keeps user-heavy tests quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Every test client builds the middleware; without autorefresh whitenoise would scan
    # all of STATIC_ROOT (when a collectstatic left one) each time.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _fresh_state(settings, monkeypatch):
    """Each test starts with no rate limits (tests that check them turn them on),
    no cached queue settings, and django-q2 tasks run inline (no cluster needed)."""
    from django.core.cache import cache
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)

    from concerts.live import snapshots_clear
    from core.authentication import forget_all
    from queue_app.selectors import queue_config_cache_clear
    from queue_app.services import recent_passes_clear

    settings.RATE_LIMITS = False
    queue_config_cache_clear()
    recent_passes_clear()
    snapshots_clear()
    forget_all()
    cache.clear()
    yield
    queue_config_cache_clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def user_api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    client.user = user
    return client


@pytest.fixture
def concert_with_dates(db):
    """A concert with performances 2 and 9 days ahead, one past, one beyond the window."""
    import datetime as dt

    from django.utils import timezone

    from tests.factories import ConcertFactory, make_performance

    concert = ConcertFactory()
    today = timezone.localdate()
    make_performance(concert, days=2)
    make_performance(concert, days=9)
    make_performance(concert, date=today - dt.timedelta(days=1))
    make_performance(concert, date=today + dt.timedelta(days=45))
    return concert


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A real Redis Cluster (three masters, three replicas) for the whole session."""
    from tests.engines.redis_cluster import RedisClusterServers
    from tools.procs import Processes

    servers = RedisClusterServers(Processes(tmp_path_factory.mktemp("redis-cluster"))).start()
    yield servers
    servers.stop()
