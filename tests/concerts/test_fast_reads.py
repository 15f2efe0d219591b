"""Dates and seat maps with an API token are answered ahead of the page middleware, with
the same status, body and headers that matter as the DRF views that serve everything else."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import ConcertFactory, UserFactory, admit, make_performance

pytestmark = pytest.mark.django_db

# An Accept the fast path leaves to DRF, which answers JSON for it all the same.
VIA_DRF = {"HTTP_ACCEPT": "application/json; charset=utf-8"}


@pytest.fixture
def performance():
    return make_performance(ConcertFactory(), days=5)


def token_fan(concert=None) -> APIClient:
    client = APIClient()
    client.user = UserFactory()
    authorization = f"Token {Token.objects.create(user=client.user).key}"
    client.credentials(HTTP_AUTHORIZATION=authorization)
    if concert is not None:
        token = admit(client, concert)  # sets the pass header alone: both go back on below
        client.credentials(HTTP_AUTHORIZATION=authorization, HTTP_X_QUEUE_TOKEN=token)
    return client


def both(client, url, **headers):
    fast = client.get(url, **headers)
    drf = client.get(url, **headers, **VIA_DRF)
    assert "Allow" not in fast, "the fast path answered"
    assert "Allow" in drf, "DRF answered"
    return fast, drf


def assert_same(fast, drf):
    assert fast.status_code == drf.status_code, (fast.content, drf.content)
    assert fast.content == drf.content
    for header in ("Content-Type", "ETag", "Cache-Control", "WWW-Authenticate", "Retry-After"):
        assert fast.get(header) == drf.get(header), header


@pytest.mark.parametrize("path", ["dates", "dates/", "dates/{date}/seats", "dates/{date}/seats/"])
def test_admitted_reads_are_the_same_either_way(performance, path):
    client = token_fan(performance.concert)
    url = f"/api/v1/concerts/{performance.concert_id}/" + path.format(date=performance.date)
    fast, drf = both(client, url)
    assert fast.status_code == 200
    assert_same(fast, drf)
    fast, drf = both(client, url, HTTP_IF_NONE_MATCH=fast["ETag"])
    assert fast.status_code == 304
    assert_same(fast, drf)


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no pass", 403, "QUEUE_TOKEN_NOT_ACTIVE"),
        ("unknown concert", 404, "CONCERT_NOT_FOUND"),
        ("bad token", 401, "NOT_AUTHENTICATED"),
        ("bad date", 400, "VALIDATION_ERROR"),
        ("date off sale", 404, "DATE_NOT_AVAILABLE"),
    ],
)
def test_refusals_are_the_same_either_way(performance, case, status, code):
    concert_id, date = performance.concert_id, str(performance.date)
    client = token_fan(None if case == "no pass" else performance.concert)
    if case == "unknown concert":
        concert_id = 999_999_999
    elif case == "bad token":
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    elif case == "bad date":
        date = "2026-02-30"
    elif case == "date off sale":
        date = "2001-01-01"
    fast, drf = both(client, f"/api/v1/concerts/{concert_id}/dates/{date}/seats")
    assert fast.status_code == status and fast.json()["code"] == code
    assert_same(fast, drf)


def test_a_disallowed_host_is_a_400_problem(performance):
    client = token_fan(performance.concert)
    response = client.get(f"/api/v1/concerts/{performance.concert_id}/dates", HTTP_HOST="evil.example")
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"


def test_a_session_or_another_accept_goes_to_drf(performance):
    client = APIClient()
    client.force_login(UserFactory())
    response = client.get(f"/api/v1/concerts/{performance.concert_id}/dates")
    assert response.status_code == 403 and "Allow" in response
