"""A join with an API token is answered ahead of the page middleware (core.fastpath), with
the same answers as the DRF view; on Redis it is one round trip and no SQL once warm."""

from __future__ import annotations

import pytest
import redis as redis_lib
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from queue_app.backends import get_backend
from queue_app.models import ConcertQueue
from tests.factories import ConcertFactory, UserFactory
from tests.queue_app.conftest import TEST_REDIS_URL

pytestmark = pytest.mark.django_db

# An Accept the fast path leaves to DRF, which answers JSON for it all the same.
VIA_DRF = {"HTTP_ACCEPT": "application/json; charset=utf-8"}


def token_client() -> APIClient:
    client = APIClient()
    client.user = UserFactory()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=client.user).key}")
    return client


def join(client, concert_id, **headers):
    return client.post(f"/api/v1/concerts/{concert_id}/queue/tokens", **headers)


def assert_same(fast, drf):
    assert "Allow" not in fast, "the fast path answered"
    assert "Allow" in drf, "DRF answered"
    assert fast.status_code == drf.status_code, (fast.content, drf.content)
    assert fast.json() == drf.json()
    for header in ("Content-Type", "WWW-Authenticate", "Retry-After"):
        assert fast.get(header) == drf.get(header), header


def test_a_join_is_the_same_either_way(queue_backend):
    concert = ConcertFactory()
    first, second = token_client(), token_client()
    created = join(first, concert.pk)
    assert created.status_code == 201 and "Allow" not in created
    drf_created = join(second, concert.pk, **VIA_DRF)
    assert drf_created.status_code == 201 and set(drf_created.json()) == set(created.json())
    # Asking again: the same pass, the same bytes whichever path answers.
    again, drf_again = join(first, concert.pk), join(first, concert.pk, **VIA_DRF)
    assert_same(again, drf_again)
    assert again.content == drf_again.content
    assert again.json()["token"] == created.json()["token"]


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("unknown concert", 404, "CONCERT_NOT_FOUND"),
        ("not a number", 404, "CONCERT_NOT_FOUND"),
        ("bad token", 401, "NOT_AUTHENTICATED"),
    ],
)
def test_refusals_are_the_same_either_way(queue_backend, case, status, code):
    concert_id = ConcertFactory().pk
    client = token_client()
    if case == "unknown concert":
        concert_id = 999_999_999
    elif case == "not a number":
        concert_id = "x1"
    else:
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    fast, drf = join(client, concert_id), join(client, concert_id, **VIA_DRF)
    assert_same(fast, drf)
    assert fast.status_code == status and fast.json()["code"] == code


def test_the_rate_limit_is_the_views(queue_backend, settings):
    settings.RATE_LIMITS = True
    concert = ConcertFactory()
    client = token_client()
    codes = [join(client, concert.pk, **({} if i % 2 else VIA_DRF)).status_code for i in range(30)]
    assert 429 not in codes  # both paths count against the one limit of 30 a minute
    fast, drf = join(client, concert.pk), join(client, concert.pk, **VIA_DRF)
    assert_same(fast, drf)
    assert fast.status_code == 429 and fast.json()["code"] == "RATE_LIMITED" and int(fast["Retry-After"]) >= 1


def test_a_warm_join_is_one_redis_round_trip_and_no_sql(settings, django_assert_num_queries, monkeypatch):
    settings.QUEUE_BACKEND = "redis"
    settings.QUEUE_REDIS_URL = TEST_REDIS_URL
    redis_lib.Redis.from_url(TEST_REDIS_URL).flushdb()
    concert = ConcertFactory()
    join(token_client(), concert.pk)  # warms the scripts, the queue settings
    client = token_client()
    join(client, 999_999_999)  # warms the token's user
    sends = []
    real_send = redis_lib.connection.AbstractConnection.send_packed_command

    def send(connection, command, *args, **kwargs):
        sends.append(b"".join(command) if isinstance(command, list) else command)
        return real_send(connection, command, *args, **kwargs)

    monkeypatch.setattr(redis_lib.connection.AbstractConnection, "send_packed_command", send)
    with django_assert_num_queries(0):
        assert join(client, concert.pk).status_code == 201
    assert len(sends) == 1, sends  # one round trip: the script, the mapping and the concert set
    assert [verb for verb in (b"EVALSHA", b"SET", b"SADD") if verb in sends[0]] == [b"EVALSHA", b"SET", b"SADD"]
    redis_lib.Redis.from_url(TEST_REDIS_URL).flushdb()


def test_a_join_survives_a_redis_that_forgot_its_scripts(settings):
    settings.QUEUE_BACKEND = "redis"
    settings.QUEUE_REDIS_URL = TEST_REDIS_URL
    concert = ConcertFactory()
    ConcertQueue.objects.create(concert=concert, paused=True)
    assert join(token_client(), concert.pk).status_code == 201
    get_backend().client.script_flush()  # as after a Redis restart
    assert join(token_client(), concert.pk).json()["position"] == 2
    redis_lib.Redis.from_url(TEST_REDIS_URL).flushdb()
