"""API tokens: a process remembers a valid token's user for a few seconds, and forgets
it at once when the token is deleted or the user changes."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client():
    user = UserFactory()
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client, user, token


def test_a_known_token_costs_no_query_for_a_while(token_client, django_assert_num_queries, settings):
    settings.AUTH_TOKEN_CACHE_SECONDS = 5
    client, _, _ = token_client
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get("/api/v1/reservations").status_code == 200
        with django_assert_num_queries(1):  # counting the (no) reservations, no token lookup
            assert client.get("/api/v1/reservations").status_code == 200
    with time_machine.travel(start + dt.timedelta(seconds=6), tick=False), django_assert_num_queries(2):
        assert client.get("/api/v1/reservations").status_code == 200  # looked up again


def test_a_deleted_token_is_refused_at_once(token_client):
    client, _, token = token_client
    assert client.get("/api/v1/wallet").status_code == 200
    token.delete()
    assert client.get("/api/v1/wallet").status_code == 401


def test_a_deactivated_user_is_refused_at_once(token_client):
    client, user, _ = token_client
    assert client.get("/api/v1/wallet").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get("/api/v1/wallet").status_code == 401


def test_a_bad_token_is_never_remembered(token_client, django_assert_num_queries):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    for _ in range(2):
        with django_assert_num_queries(1):
            assert client.get("/api/v1/wallet").status_code == 401


def test_requests_get_their_own_user_object(token_client):
    from core.authentication import CachedTokenAuthentication

    _, user, token = token_client
    first, _ = CachedTokenAuthentication().authenticate_credentials(token.key)
    second, _ = CachedTokenAuthentication().authenticate_credentials(token.key)
    assert first == second == user and first is not second


def test_the_plain_lookup_gives_what_drfs_gives(token_client, django_assert_num_queries):
    """A token not yet remembered is one plain statement on PostgreSQL: the same user, field
    for field, and the same token, as DRF's ORM lookup; the same refusals."""
    from django.contrib.auth import get_user_model
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    from core.authentication import _token_user

    _, user, token = token_client
    user.last_login = timezone.now()
    user.save()
    with django_assert_num_queries(1):
        plain_user, plain_token = _token_user(token.key)
    drf_user, drf_token = TokenAuthentication().authenticate_credentials(token.key)
    fields = [f.attname for f in get_user_model()._meta.concrete_fields]
    assert [getattr(plain_user, f) for f in fields] == [getattr(drf_user, f) for f in fields]
    assert plain_user.is_authenticated and not plain_user._state.adding
    assert (plain_token.key, plain_token.user_id, plain_token.user) == (drf_token.key, drf_token.user_id, drf_user)
    assert plain_token.created == drf_token.created  # loaded when asked for
    for key in ["0" * 40, "nope"]:
        with pytest.raises(AuthenticationFailed):
            _token_user(key)
    user.is_active = False
    user.save()
    with pytest.raises(AuthenticationFailed, match="inactive"):
        _token_user(token.key)
