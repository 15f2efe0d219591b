from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        raise pytest.UsageError(f"The suite runs on PostgreSQL only (DATABASE_URL gives {engine}).")


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
