"""Abuse limits: rate limits per scope (API and the pages that do the same), request
body size, pagination bounds. Every refusal is a clean 4xx, never a 500."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from concerts.models import Concert
from core.ratelimit import RATES
from tests.factories import ConcertFactory, UserFactory, make_performance

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits_on(settings):
    settings.RATE_LIMITS = True
    cache.clear()
    yield
    cache.clear()


def _limit(scope: str) -> int:
    return int(RATES[scope].split("/")[0])


def assert_rate_limited(response) -> None:
    assert response.status_code == 429, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "RATE_LIMITED" and body["status"] == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert body["retry_after"] == int(response["Retry-After"])


def _until_limited(send, scope: str) -> None:
    """The scope's limit is let through, the next request is refused."""
    allowed = _limit(scope)
    for i in range(allowed):
        response = send(i)
        assert response.status_code != 429, f"{scope}: refused after {i} of {allowed}"
    assert_rate_limited(send(allowed))


def test_register_is_rate_limited(limits_on):
    client = APIClient()

    def send(i):
        body = {"username": f"newfan{i}", "password": "a long enough passphrase", "email": f"n{i}@example.com"}
        return client.post("/api/v1/auth/register", body, format="json")

    _until_limited(send, "register")


def test_token_login_is_rate_limited(limits_on):
    user = UserFactory()
    client = APIClient()
    _until_limited(
        lambda i: client.post("/api/v1/auth/token", {"username": user.username, "password": f"guess{i}"}),
        "login",
    )
    # Even the right password is refused now: guessing stops, it does not slow down.
    right = client.post("/api/v1/auth/token", {"username": user.username, "password": "correct horse battery"})
    assert_rate_limited(right)


def test_pass_creation_is_rate_limited(limits_on, user_api):
    concert = ConcertFactory()
    _until_limited(lambda i: user_api.post(f"/api/v1/concerts/{concert.pk}/queue/tokens"), "queue_join")


def test_charges_are_rate_limited(limits_on, user_api):
    _until_limited(lambda i: user_api.post("/api/v1/wallet/charges", {"amount": 1000}, format="json"), "charge")


def test_payments_are_rate_limited(limits_on, user_api):
    _until_limited(lambda i: user_api.post("/api/v1/payments", {"reservation_id": 10**6 + i}, format="json"), "payment")


def test_limits_are_per_user_not_shared(limits_on):
    concert = ConcertFactory()
    first, second = APIClient(), APIClient()
    first.force_authenticate(UserFactory())
    second.force_authenticate(UserFactory())
    for _ in range(_limit("queue_join")):
        first.post(f"/api/v1/concerts/{concert.pk}/queue/tokens")
    assert_rate_limited(first.post(f"/api/v1/concerts/{concert.pk}/queue/tokens"))
    assert second.post(f"/api/v1/concerts/{concert.pk}/queue/tokens").status_code in {200, 201}


def test_a_forged_x_forwarded_for_does_not_reset_the_limit(limits_on):
    client = APIClient()
    for i in range(_limit("register")):
        client.post("/api/v1/auth/register", {}, format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert_rate_limited(client.post("/api/v1/auth/register", {}, format="json", HTTP_X_FORWARDED_FOR="10.9.9.9"))


def test_login_page_is_rate_limited_too(limits_on):
    user = UserFactory()
    client = Client()
    for i in range(_limit("login")):
        response = client.post("/accounts/login/", {"username": user.username, "password": f"guess{i}"})
        assert response.status_code == 200  # the form again, with an error
    response = client.post("/accounts/login/", {"username": user.username, "password": "correct horse battery"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_password_reset_page_cannot_be_used_to_bomb_a_mailbox(limits_on, mailoutbox):
    user = UserFactory()
    client = Client()
    statuses = [client.post("/accounts/password_reset/", {"email": user.email}).status_code for _ in range(8)]
    assert statuses[:5] == [302] * 5 and set(statuses[5:]) == {429}
    assert len(mailoutbox) == 5


def test_a_cache_outage_lets_requests_through_and_is_logged(limits_on, user_api, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr("core.ratelimit._last_cache_error_log", 0.0)
    with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
        response = user_api.post("/api/v1/wallet/charges", {"amount": 1000}, format="json")
    assert response.status_code == 201
    assert "cache is unavailable" in caplog.text


# --- Body size ------------------------------------------------------------------------


def _big_json(size: int) -> str:
    return json.dumps({"username": "x", "password": "y", "email": "z", "pad": "a" * size})


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/auth/register", {}),
        ("/api/v1/wallet/charges", {"HTTP_IDEMPOTENCY_KEY": "big-1"}),  # reads request.body itself
        ("/api/v1/payments", {}),
    ],
)
def test_a_too_large_json_body_is_413_problem_json(path, headers, user):
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(path, data=_big_json(300 * 1024), content_type="application/json", **headers)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "REQUEST_TOO_LARGE"


def test_a_body_just_under_the_limit_is_parsed_normally():
    body = _big_json(250 * 1024)
    response = APIClient().post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"


def test_a_too_large_form_on_a_page_is_413_not_500():
    response = Client().post(
        "/accounts/login/",
        data="username=a&password=" + "b" * 300 * 1024,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413


def test_too_many_form_fields_is_400_problem_json():
    body = "&".join(f"f{i}=1" for i in range(1500))  # DATA_UPLOAD_MAX_NUMBER_FIELDS: 1000
    response = APIClient().post("/api/v1/auth/register", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


# --- Pagination -------------------------------------------------------------------------


@pytest.fixture
def many_concerts(db):
    Concert.objects.bulk_create(Concert(title=f"C{i}", artist="A", venue="V", description="") for i in range(130))


def test_page_size_is_capped_at_100(many_concerts):
    body = APIClient().get("/api/v1/concerts?page_size=1000").json()
    assert body["count"] == 130 and len(body["results"]) == 100
    assert len(APIClient().get("/api/v1/concerts?page_size=7").json()["results"]) == 7
    assert len(APIClient().get("/api/v1/concerts").json()["results"]) == 20


@pytest.mark.parametrize("query", ["page=999", "page=abc", "page=0", "page=-1", "page=", f"page={10**30}"])
def test_an_invalid_page_is_404_problem_json(many_concerts, query):
    response = APIClient().get(f"/api/v1/concerts?{query}")
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize("query", ["page_size=0", "page_size=-5", "page_size=abc", "page_size="])
def test_an_invalid_page_size_is_400(many_concerts, query):
    response = APIClient().get(f"/api/v1/concerts?{query}")
    assert response.status_code == 400
    assert response.json()["errors"]["page_size"]


def test_every_list_endpoint_is_bounded(user_api):
    concert = ConcertFactory()
    make_performance(concert)
    for path in ("/api/v1/concerts", "/api/v1/reservations", "/api/v1/wallet/transactions"):
        body = user_api.get(f"{path}?page_size=100000").json()
        assert set(body) == {"count", "next", "previous", "results"}, path
        assert user_api.get(f"{path}?page=9999").status_code == 404
