import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.idempotency import idempotency_purge
from core.models import IdempotencyRecord
from tests.concurrency import run_concurrently
from tests.core.test_errors import assert_problem
from tests.factories import UserFactory
from wallet.models import Charge, LedgerEntry

pytestmark = pytest.mark.django_db


def charge(client, amount, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/wallet/charges", {"amount": amount}, format="json", **headers)


def test_replay_returns_first_response_and_moves_no_money(user_api):
    first = charge(user_api, 10_000, key="k-1")
    assert first.status_code == 201
    again = charge(user_api, 10_000, key="k-1")
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == first["Content-Type"]
    assert Charge.objects.count() == 1 and LedgerEntry.objects.count() == 1
    assert user_api.get("/api/v1/wallet").json()["balance"] == 10_000
    # The same body with a slash or keys in another order is the same request.
    slash = user_api.post(
        "/api/v1/wallet/charges/",
        data='{ "amount" : 10000 }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert slash.content == first.content


def test_same_key_other_body_is_422(user_api):
    assert charge(user_api, 10_000, key="k-2").status_code == 201
    problem = assert_problem(charge(user_api, 20_000, key="k-2"), 422, "IDEMPOTENCY_KEY_REUSED")
    assert "new key" in problem["detail"]
    assert Charge.objects.count() == 1


def test_without_key_every_request_charges(user_api):
    charge(user_api, 1_000)
    charge(user_api, 1_000)
    assert LedgerEntry.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["k" * 256, "", "bad\x00key", "tab\tkey"])
def test_malformed_key_is_validation_error(user_api, key):
    problem = assert_problem(charge(user_api, 1_000, key=key), 400, "VALIDATION_ERROR")
    assert "Idempotency-Key" in problem["errors"]
    assert not Charge.objects.exists()


def test_key_of_255_characters_is_fine(user_api):
    assert charge(user_api, 1_000, key="k" * 255).status_code == 201
    assert charge(user_api, 1_000, key="k" * 255)["Idempotent-Replayed"] == "true"


def test_failed_request_is_not_stored_and_key_can_be_retried(user_api, limits):
    assert_problem(charge(user_api, 999_999, key="k-3"), 400, "CHARGE_AMOUNT_OUT_OF_RANGE")
    assert_problem(
        user_api.post("/api/v1/wallet/charges", {"amount": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"),
        400,
        "VALIDATION_ERROR",
    )
    assert not IdempotencyRecord.objects.exists()
    # Same key, same body, after fixing the cause (here: the limit).
    limits.BALANCE_MAX = 100_000
    assert charge(user_api, 50_000).status_code == 201
    assert charge(user_api, 50_000).status_code == 201
    assert_problem(charge(user_api, 20_000, key="k-4"), 409, "BALANCE_LIMIT_EXCEEDED")
    limits.BALANCE_MAX = 200_000
    res = charge(user_api, 20_000, key="k-4")
    assert res.status_code == 201 and res.json()["balance"] == 120_000


def test_keys_are_per_user(user_api):
    other = APIClient()
    other.force_authenticate(UserFactory())
    assert charge(user_api, 1_000, key="shared").status_code == 201
    res = charge(other, 2_000, key="shared")
    assert res.status_code == 201 and res.json()["amount"] == 2_000
    assert Charge.objects.count() == 2


def test_keys_expire_after_24_hours(user_api):
    assert charge(user_api, 1_000, key="old").status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=24, seconds=1))
    res = charge(user_api, 5_000, key="old")  # another body is fine once expired
    assert res.status_code == 201 and not res.has_header("Idempotent-Replayed")
    assert Charge.objects.count() == 2
    assert IdempotencyRecord.objects.get().response_body["amount"] == 5_000


def test_purge_deletes_only_records_older_than_24_hours(user_api):
    charge(user_api, 1_000, key="a")
    charge(user_api, 1_000, key="b")
    IdempotencyRecord.objects.filter(key="a").update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["b"]


def test_declined_charge_is_not_stored(user_api, gateway):
    gateway.mode = "decline"
    assert_problem(charge(user_api, 3_000, key="k-5"), 502, "GATEWAY_DECLINED")
    assert not IdempotencyRecord.objects.exists()
    gateway.mode = "approve"  # e.g. after the user fixed their card
    res = charge(user_api, 3_000, key="k-5")
    assert res.status_code == 201 and res.json()["status"] == "SUCCEEDED"


def test_pending_response_is_replayed_as_first_sent(user_api, gateway):
    gateway.mode = "stall"
    first = charge(user_api, 3_000, key="k-6")
    gateway.release.set()
    assert first.status_code == 201 and first.json()["status"] == "PENDING"
    assert charge(user_api, 3_000, key="k-6").content == first.content
    assert Charge.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_move_money_once(gateway):
    user = UserFactory()
    gateway.mode = "approve"

    def post(i):
        client = APIClient()
        client.force_authenticate(user)
        res = charge(client, 7_000, key="same-key")
        return res.status_code, res.content

    results = run_concurrently(8, post)
    assert all(isinstance(r, tuple) for r in results), results
    assert {status for status, _ in results} == {201}
    assert len({content for _, content in results}) == 1
    assert Charge.objects.count() == 1
    assert LedgerEntry.objects.count() == 1
    assert LedgerEntry.objects.get().amount == 7_000
    assert [c[0] for c in gateway.calls] == ["POST"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_wait_for_a_slow_first_one(gateway):
    """The first holds the key while the gateway stalls past its timeout; the others wait and replay."""
    user = UserFactory()
    gateway.mode = "stall"

    def post(i):
        client = APIClient()
        client.force_authenticate(user)
        res = charge(client, 4_000, key="slow-key")
        return res.status_code, res.content

    results = run_concurrently(4, post)
    gateway.release.set()
    assert {status for status, _ in results} == {201}, results
    assert len({content for _, content in results}) == 1
    assert Charge.objects.count() == 1
    assert Charge.objects.get().status == "PENDING"
